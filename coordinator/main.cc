// fedseg-coordinator: runs a federation from a JSON config (docs/configuration.md);
// `fedseg-coordinator report --run-dir DIR` re-renders a run's report.html from its report.json.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/ml/runtime.h"
#include "coordinator/coordinator.h"
#include "coordinator/report/report_html.h"

int main(int argc, char** argv) {
  CLI::App app{
      "fedseg-coordinator: aggregates region updates over mutual TLS (FedAvg) and runs "
      "federated evaluation"};
  std::string config_path;
  fedseg::coordinator::Coordinator::Options options;
  int rounds = 0, port = -1, min_regions = 0, status_port = -1;
  std::string run_dir;
  app.add_option("--config", config_path,
                 "Coordinator config (JSON); required to run a federation");
  auto* resume = app.add_flag("--resume", options.resume,
                              "Continue from <run_dir>/checkpoint.fsc (after a crash or a stop)");
  app.add_flag("--fresh", options.fresh,
               "Start a new run in a used run_dir: move the earlier run's files (checkpoint, "
               "report, metrics, final model, log) to <run_dir>/previous/<time>/ first. Without "
               "--resume or --fresh a used run_dir is refused")
      ->excludes(resume);
  app.add_option("--from-round", options.from_round,
                 "With --resume: roll back to the checkpoint of this round "
                 "(<run_dir>/checkpoint-round-R.fsc; the last checkpoint.keep rounds are kept)")
      ->check(CLI::PositiveNumber)
      ->needs(resume);
  app.add_option("--rounds", rounds, "Override training.rounds");
  app.add_option("--port", port, "Override listen.port (0 = any free port)");
  app.add_option("--run-dir", run_dir, "Override run_dir");
  app.add_option("--min-regions", min_regions, "Override federation.min_regions");
  app.add_option("--status-port", status_port,
                 "Enable the HTTPS status endpoint on this port (overrides status.enabled and "
                 "status.port; 0 = any free port)");
  app.add_flag("--json", options.json, "Print the final summary as JSON on stdout");
  app.require_subcommand(0, 1);

  CLI::App* report = app.add_subcommand(
      "report", "Re-render <run-dir>/report.html from <run-dir>/report.json (offline; no network)");
  std::string report_dir, report_out;
  bool report_json = false;
  report->add_option("--run-dir", report_dir, "Run directory holding report.json")->required();
  report->add_option("--out", report_out, "Write the page here instead of <run-dir>/report.html");
  report->add_flag("--json", report_json, "Print {\"report_html\": PATH} on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as a bad config does.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*report) {
    auto written = fedseg::coordinator::RenderRunDirectory(report_dir, report_out);
    if (!written.ok()) {
      std::cerr << "error: " << written.status().message() << "\n";
      return 1;
    }
    if (report_json) {
      std::cout << nlohmann::json{{"report_html", *written}}.dump() << std::endl;
    } else {
      std::cout << *written << std::endl;
    }
    return 0;
  }
  if (options.from_round > 0 && !options.resume) {
    std::cerr << "error: --from-round needs --resume\n";
    return 2;
  }
  if (config_path.empty()) {
    std::cerr << "error: --config is required (see --help)\n";
    return 2;
  }
  fedseg::ml::ConfigureThreads(0);

  nlohmann::json overrides = nlohmann::json::object();
  if (rounds > 0) overrides["/training/rounds"] = rounds;
  if (port >= 0) overrides["/listen/port"] = port;
  if (!run_dir.empty()) overrides["/run_dir"] = run_dir;
  if (min_regions > 0) overrides["/federation/min_regions"] = min_regions;
  if (status_port >= 0) {
    overrides["/status/enabled"] = true;
    overrides["/status/port"] = status_port;
  }
  auto config = fedseg::coordinator::LoadCoordinatorConfig(config_path, overrides);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << "\n";
    return 2;
  }
  // One socket per region: the usual soft limit of 1,024 open files would refuse the 1,000th.
  auto files = fedseg::ml::RaiseOpenFileLimit();
  const uint64_t needed = config->regions.size() + 64;  // + logs, checkpoint, listener, epoll
  if (!files.ok()) {
    std::cerr << "warning: " << files.status().message() << "\n";
  } else if (*files < needed) {
    std::cerr << "warning: the open-file limit is " << *files << " but " << config->regions.size()
              << " regions need about " << needed << "; raise it (ulimit -n, or LimitNOFILE= in the "
              << "systemd unit)\n";
  }
  auto coordinator = fedseg::coordinator::Coordinator::Create(std::move(*config), options);
  if (!coordinator.ok()) {
    std::cerr << "error: " << coordinator.status().message() << "\n";
    return 1;
  }
  return (*coordinator)->Run();
}

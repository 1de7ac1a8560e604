// fedseg-coordinator: runs a federation from a JSON config (docs/configuration.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/runtime.h"
#include "coordinator/coordinator.h"

int main(int argc, char** argv) {
  CLI::App app{"fedseg-coordinator: aggregates region updates over mutual TLS (FedAvg) and runs "
               "federated evaluation"};
  std::string config_path;
  fedseg::coordinator::Coordinator::Options options;
  int rounds = 0, port = -1, min_regions = 0, status_port = -1;
  std::string run_dir;
  app.add_option("--config", config_path, "Coordinator config (JSON)")->required();
  app.add_flag("--resume", options.resume,
               "Continue from <run_dir>/checkpoint.fsc (after a crash or a stop)");
  app.add_option("--rounds", rounds, "Override training.rounds");
  app.add_option("--port", port, "Override listen.port (0 = any free port)");
  app.add_option("--run-dir", run_dir, "Override run_dir");
  app.add_option("--min-regions", min_regions, "Override federation.min_regions");
  app.add_option("--status-port", status_port,
                 "Enable the HTTPS status endpoint on this port (overrides status.enabled and "
                 "status.port; 0 = any free port)");
  app.add_flag("--json", options.json, "Print the final summary as JSON on stdout");
  CLI11_PARSE(app, argc, argv);
  fedseg::ConfigureThreads(0);

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
  auto coordinator = fedseg::coordinator::Coordinator::Create(std::move(*config), options);
  if (!coordinator.ok()) {
    std::cerr << "error: " << coordinator.status().message() << "\n";
    return 1;
  }
  return (*coordinator)->Run();
}

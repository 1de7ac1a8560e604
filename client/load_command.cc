#include "client/load_command.h"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/federated_client.h"
#include "client/region_config.h"
#include "common/ml/runtime.h"

namespace fedseg::client {
namespace {

// Open files one region holds: its socket, and its connection's private io_context (epoll, an
// eventfd, a timerfd); plus a margin for the files it opens briefly (certificates, data).
constexpr uint64_t kFilesPerRegion = 5;

struct RegionRun {
  RegionConfig config;
  FederatedClientOptions options;
  int exit_code = -1;
  double seconds = 0;
};

void* RunRegion(void* arg) {
  auto* run = static_cast<RegionRun*>(arg);
  const auto t0 = std::chrono::steady_clock::now();
  FederatedClient client(run->config, run->options);
  run->exit_code = client.Run();
  run->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return nullptr;
}

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

int RunLoad(const LoadArgs& args) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  for (fs::directory_iterator it(args.config_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json") paths.push_back(it->path().string());
  }
  if (ec) {
    std::cerr << "error: cannot list " << args.config_dir << ": " << ec.message() << "\n";
    return 2;
  }
  std::sort(paths.begin(), paths.end());
  if (args.count > 0) {
    if (static_cast<size_t>(args.count) > paths.size()) {
      std::cerr << "error: --count " << args.count << " but " << args.config_dir << " has only "
                << paths.size() << " region configs (*.json)\n";
      return 2;
    }
    paths.resize(static_cast<size_t>(args.count));
  }
  if (paths.empty()) {
    std::cerr << "error: no region configs (*.json) in " << args.config_dir << "\n";
    return 2;
  }
  const auto level = spdlog::level::from_str(args.log_level);
  if (level == spdlog::level::off && args.log_level != "off") {
    std::cerr << "error: --log-level must be trace, debug, info, warn, error, critical or off, got '"
              << args.log_level << "'\n";
    return 2;
  }

  std::vector<RegionRun> runs(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    // One OpenMP thread per region: a thousand regions share the machine's cores already.
    auto config = LoadRegionConfig(paths[i], nlohmann::json{{"/threads", 1}});
    if (!config.ok()) {
      std::cerr << "error: " << config.status().message() << "\n";
      return 2;
    }
    runs[i].config = std::move(*config);
    runs[i].options.log_level = level;
    runs[i].options.progress = false;
  }

  auto files = ml::RaiseOpenFileLimit();
  const uint64_t needed = kFilesPerRegion * runs.size() + 64;
  if (!files.ok()) {
    std::cerr << "error: " << files.status().message() << "\n";
    return 2;
  }
  if (*files < needed) {
    std::cerr << "error: " << runs.size() << " regions need about " << needed
              << " open files but the hard limit is " << *files << " (raise it: ulimit -Hn)\n";
    return 2;
  }
  ml::ConfigureThreads(1);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  const size_t stack = std::max<size_t>(static_cast<size_t>(args.stack_kib) * 1024, 256 * 1024);
  if (int rc = pthread_attr_setstacksize(&attr, stack); rc != 0) {
    std::cerr << "error: thread stack of " << args.stack_kib << " KiB: " << std::strerror(rc) << "\n";
    pthread_attr_destroy(&attr);
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pthread_t> threads;
  threads.reserve(runs.size());
  int start_error = 0;
  for (RegionRun& run : runs) {
    pthread_t t;
    if (int rc = pthread_create(&t, &attr, RunRegion, &run); rc != 0) {
      std::cerr << "error: cannot start the thread of region " << run.config.region << " (number "
                << threads.size() + 1 << "): " << std::strerror(rc) << "\n";
      start_error = rc;
      break;
    }
    threads.push_back(t);
  }
  pthread_attr_destroy(&attr);
  for (pthread_t t : threads) pthread_join(t, nullptr);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  size_t ok = 0;
  double slowest = 0;
  std::vector<std::string> failed;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (runs[i].exit_code == 0) {
      ++ok;
    } else {
      failed.push_back(runs[i].config.region.empty() ? paths[i] : runs[i].config.region);
    }
    slowest = std::max(slowest, runs[i].seconds);
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double peak_rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  const double cpu = Seconds(ru.ru_utime) + Seconds(ru.ru_stime);
  if (args.json) {
    nlohmann::json j = {{"regions", runs.size()},          {"started", threads.size()},
                        {"succeeded", ok},                 {"failed", failed},
                        {"wall_seconds", wall},            {"slowest_region_seconds", slowest},
                        {"peak_rss_mib", peak_rss_mib},    {"cpu_seconds", cpu},
                        {"stack_kib", stack / 1024}};
    std::cout << j.dump(2) << std::endl;
  } else {
    std::printf("load: %zu/%zu regions finished the federation in %.1f s; process peak RSS %.1f MiB "
                "(%.0f KiB per region), CPU %.1f s\n",
                ok, runs.size(), wall, peak_rss_mib, 1024 * peak_rss_mib / runs.size(), cpu);
    for (size_t i = 0; i < failed.size() && i < 20; ++i) {
      std::printf("  failed: %s\n", failed[i].c_str());
    }
    if (failed.size() > 20) std::printf("  ... and %zu more\n", failed.size() - 20);
  }
  return start_error == 0 && ok == runs.size() ? 0 : 1;
}

}  // namespace

void AddLoadCommand(CLI::App& app, LoadArgs& args, int* exit_code) {
  CLI::App* load = app.add_subcommand(
      "load", "Load test: run many regions in one process, one thread and one mutual-TLS "
              "connection each (every *.json region config in a directory)");
  load->add_option("--config-dir", args.config_dir, "Directory of region configs (*.json)")
      ->required();
  load->add_option("--count", args.count, "Run only the first N configs, in name order (0 = all)")
      ->check(CLI::NonNegativeNumber);
  load->add_option("--log-level", args.log_level,
                   "Regions' log level on stderr: trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  load->add_option("--stack-kib", args.stack_kib, "Stack size of each region's thread (KiB, >= 256)")
      ->capture_default_str()
      ->check(CLI::Range(256, 65536));
  load->add_flag("--json", args.json, "Print the summary as JSON on stdout");
  load->callback([&args, exit_code] { *exit_code = RunLoad(args); });
}

}  // namespace fedseg::client

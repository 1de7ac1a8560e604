// fedseg-client: a region's node. Local commands (train, evaluate, segment) work on this node's
// table alone; `join` takes part in a federation.
//
// The test suite compiles this file a second time, with FEDSEG_INSECURE_TEST_NOISE, into
// fedseg-client-seeded-noise (tests/CMakeLists.txt): only that copy links the seeded noise source
// and accepts privacy.insecure_seeded_noise. fedseg-client itself refuses such a config.
#include <CLI/CLI.hpp>
#include <iostream>

#include "client/features_command.h"
#include "client/federated_client.h"
#include "client/ledger_command.h"
#include "client/load_command.h"
#include "client/local_commands.h"
#include "client/region_config.h"
#ifdef FEDSEG_INSECURE_TEST_NOISE
#include "privacy/noise/testing/seeded_noise.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"fedseg-client: a region's node for federated user segmentation"};
  app.require_subcommand(1);
  int exit_code = 0;
  fedseg::client::TrainArgs train;
  fedseg::client::EvaluateArgs evaluate;
  fedseg::client::SegmentArgs segment;
  fedseg::client::AddTrainCommand(app, train, &exit_code);
  fedseg::client::AddEvaluateCommand(app, evaluate, &exit_code);
  fedseg::client::AddSegmentCommand(app, segment, &exit_code);
  fedseg::client::FeaturesArgs features;
  fedseg::client::AddFeaturesCommand(app, features, &exit_code);

  std::string config_path, host, data, model_out;
  int port = -1, threads = -1;
  CLI::App* join = app.add_subcommand("join", "Take part in a federation (config: region JSON)");
  join->add_option("--config", config_path, "Region config (JSON)")->required();
  join->add_option("--host", host, "Override coordinator.host");
  join->add_option("--port", port, "Override coordinator.port");
  join->add_option("--data", data, "Override data.train");
  join->add_option("--model-out", model_out, "Override output.model");
  join->add_option("--threads", threads, "Override threads");
  join->callback([&] {
    nlohmann::json o = nlohmann::json::object();
    if (!host.empty()) o["/coordinator/host"] = host;
    if (port >= 0) o["/coordinator/port"] = port;
    if (!data.empty()) o["/data/train"] = data;
    if (!model_out.empty()) o["/output/model"] = model_out;
    if (threads >= 0) o["/threads"] = threads;
    auto config = fedseg::client::LoadRegionConfig(config_path, o);
    if (!config.ok()) {
      std::cerr << "error: " << config.status().message() << "\n";
      exit_code = 2;
      return;
    }
    fedseg::client::FederatedClientOptions options;
#ifdef FEDSEG_INSECURE_TEST_NOISE
    options.seeded_noise = [](uint64_t seed) {
      return fedseg::privacy::MakeInsecureSeededNoiseForTesting(seed);
    };
#endif
    if (auto st = fedseg::client::CheckSeededNoiseAvailable(*config, options.seeded_noise);
        !st.ok()) {
      std::cerr << "error: " << config_path << ": " << st.message() << "\n";
      exit_code = 2;
      return;
    }
    fedseg::client::FederatedClient client(std::move(*config), options);
    exit_code = client.Run();
  });
  fedseg::client::LedgerArgs ledger;
  fedseg::client::AddLedgerCommand(app, ledger, &exit_code);
  fedseg::client::LoadArgs load;
  fedseg::client::AddLoadCommand(app, load, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

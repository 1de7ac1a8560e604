// fedseg-client: a region's node. Local commands (train, evaluate, segment) work on this node's
// table alone; `join` takes part in a federation.
#include <CLI/CLI.hpp>
#include <iostream>

#include "client/local_commands.h"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

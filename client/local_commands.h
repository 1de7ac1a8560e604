// The single-node commands of fedseg-client: train (local-only / centralized baseline), evaluate
// (classification report) and segment (a segment and class probabilities per user, and segment
// profiles). Each returns a process exit code; errors go to stderr, results to stdout.
#ifndef FEDSEG_CLIENT_LOCAL_COMMANDS_H_
#define FEDSEG_CLIENT_LOCAL_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "common/data/dataset_loader.h"
#include "common/ml/trainer.h"

namespace fedseg::client {

// Options shared by commands that read a CSV table.
struct TableArgs {
  std::string data;
  std::string label;
  std::string id_column;
  std::vector<std::string> categorical, numeric, drop;
  // Date columns: "COLUMN" (format detected) or "COLUMN=FORMAT" (--date), and as a map (from a
  // data contract); both reach data::LoadOptions::dates.
  std::vector<std::string> date_args;
  std::map<std::string, std::string> dates;
  // Columns read as sign(x) ln(1 + |x|) (data::LoadOptions::log_columns), and whether heavy-tailed
  // ones are detected (train; a federation's contract declares its list).
  std::vector<std::string> log;
  bool detect_log = true;
  std::string delimiter;  // "", ",", ";", "tab", "|"
  std::string spec;       // a feature spec (raw sources) in place of `data` (features_command.h)
};

// Defaults chosen on the bundled online-shoppers data (see docs/quality.md): 20 epochs of Adam at
// lr 5e-4 with L2 1e-3 on a 64-32 MLP generalise better than longer or unregularised training.
// `train`'s epoch budget when --epochs is 0 (the default): about kAutoEpochSteps optimizer steps,
// so a table of a few thousand rows gets the passes it needs (one public table: ROC AUC 0.918
// after 20 epochs, 0.985 after 200), within [kMinAutoEpochs, kMaxAutoEpochs]; early stopping
// (on by default) ends it once the validation loss stops improving.
inline constexpr int64_t kAutoEpochSteps = 10000;
inline constexpr int kMinAutoEpochs = 20, kMaxAutoEpochs = 500;
int AutoEpochs(size_t training_rows, int batch_size);

inline ml::TrainConfig DefaultLocalTrainConfig() {
  ml::TrainConfig c;
  c.epochs = 0;  // auto: AutoEpochs
  c.early_stopping_patience = 10;
  c.batch_size = 64;
  c.optimizer.learning_rate = 5e-4;
  c.optimizer.weight_decay = 1e-3;
  return c;
}

struct TrainArgs {
  TableArgs table;
  std::string test_data;
  double test_fraction = 0.2;
  std::string hidden = "64,32";
  ml::TrainConfig train = DefaultLocalTrainConfig();
  // Taken from the training rows (stratified, seed + 1) for early stopping and for choosing the
  // decision threshold; never the test rows.
  double validation_fraction = 0.1;
  std::string decision = "f1";  // ml::DecisionGoal::Parse: f1, argmax, precision>=P, recall>=R
  std::string positive_class;   // the class thresholded; "" = the validation rows' minority
  // A category held by fewer training rows never enters the model (data::CategoryPolicy).
  double min_category_count = 10;
  std::string out;
  bool json = false;
  bool quiet = false;
};

// A decision threshold given on the command line in place of the model's rule.
struct ThresholdArgs {
  bool given = false;           // --threshold was given
  double threshold = 0.5;       // --threshold T, 0 < T < 1
  std::string positive_class;   // --positive-class: default the rule's, else the second class
};

struct EvaluateArgs {
  std::string model;
  TableArgs table;
  ThresholdArgs decision;
  bool json = false;
};

struct SegmentArgs {
  std::string model;
  TableArgs table;
  ThresholdArgs decision;
  std::string out;
  bool profile = false;
  bool json = false;
};

// Registers the subcommands on `app`; each sets `*exit_code` when it runs.
void AddTrainCommand(CLI::App& app, TrainArgs& args, int* exit_code);
void AddEvaluateCommand(CLI::App& app, EvaluateArgs& args, int* exit_code);
void AddSegmentCommand(CLI::App& app, SegmentArgs& args, int* exit_code);

int RunTrain(const TrainArgs& args);
int RunEvaluate(const EvaluateArgs& args);
int RunSegment(const SegmentArgs& args);

// Checks, before any work, that `path` can be written: not a directory, in an existing writable
// directory. `flag` names the option in the message ("--out").
Status CheckOutputPath(const std::string& flag, const std::string& path);

// Builds loader options from the command line (delimiter names, type overrides).
Result<data::LoadOptions> MakeLoadOptions(const TableArgs& table);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_LOCAL_COMMANDS_H_

#include "client/local_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "client/command_status.h"
#include "client/features_command.h"
#include "client/segment_profile.h"
#include "common/base/file_util.h"
#include "common/base/json_config.h"
#include "common/base/progress.h"
#include "common/data/category_policy.h"
#include "common/data/csv.h"
#include "common/data/schema.h"
#include "common/ml/evaluation.h"
#include "common/ml/metrics.h"
#include "common/ml/model_file.h"
#include "common/ml/runtime.h"

namespace fedseg::client {
namespace {

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void AddTableOptions(CLI::App* cmd, TableArgs& t, bool label_required) {
  auto* data = cmd->add_option("--data", t.data, "Input CSV table (header row required)");
  auto* spec = cmd->add_option("--spec", t.spec,
                               "Feature spec computing the table from raw sources, in place of "
                               "--data (docs/features.md)");
  data->excludes(spec);
  spec->excludes(data);
  cmd->add_option("--label", t.label,
                  label_required ? "Label column (the segment to learn); default with --spec: the "
                                   "spec's label"
                                 : "Label column (the segment to learn)");
  cmd->add_option("--id-column", t.id_column,
                  "Direct identifier column: carried to outputs, never a feature");
  cmd->add_option("--categorical", t.categorical, "Columns to treat as categorical (comma list)")
      ->delimiter(',');
  cmd->add_option("--numeric", t.numeric, "Columns to treat as numeric (comma list)")
      ->delimiter(',');
  cmd->add_option("--drop", t.drop, "Columns to ignore (comma list)")->delimiter(',');
  cmd->add_option("--date", t.date_args,
                  "A date column, as COLUMN (format detected) or COLUMN=FORMAT (e.g. "
                  "'Signup=%d-%m-%Y'; %Y %m %d %H %M %S): encoded as days, month and weekday. "
                  "Repeatable; undeclared date columns are detected");
  if (label_required) {  // train; evaluate and segment read columns as the model's schema says
    cmd->add_option("--log", t.log,
                    "Columns to read as sign(x) ln(1 + |x|), named COLUMN[log1p] (comma list); "
                    "non-negative heavy-tailed columns are detected (docs/quality.md)")
        ->delimiter(',');
    cmd->add_flag_function(
        "--no-log-detection", [&t](std::int64_t) { t.detect_log = false; },
        "Read only the --log columns as logarithms; detect no others");
  }
  cmd->add_option("--delimiter", t.delimiter,
                  "Field delimiter: ',', ';', 'tab' or '|' (default: auto-detect)");
}

// Per-epoch progress: a bar redrawn in place on a terminal, one plain line per epoch otherwise.
void PrintEpoch(ProgressLine& bar, const ml::EpochReport& e, int total) {
  char buf[160];
  if (std::isnan(e.validation_loss)) {
    std::snprintf(buf, sizeof buf, "epoch %d/%d  loss %.4f  (%.2f s)", e.epoch, total,
                  e.train_loss, e.seconds);
  } else {
    std::snprintf(buf, sizeof buf, "epoch %d/%d  loss %.4f  val_loss %.4f  (%.2f s)", e.epoch,
                  total, e.train_loss, e.validation_loss, e.seconds);
  }
  if (bar.active()) {
    bar.Update(ProgressBar(static_cast<double>(e.epoch) / total) + "  " + buf);
  } else {
    std::cerr << buf << "\n";
  }
}

// Missing values per column (imputed) and rows dropped for a missing label: JSON and text.
nlohmann::json DataQualityJson(const data::RawDataset& d) {
  nlohmann::json missing = nlohmann::json::object();
  for (const data::RawColumn& c : d.features) missing[c.name] = c.missing;
  return {{"rows", d.num_rows()},
          {"dropped_missing_label", d.dropped_missing_label},
          {"missing_values", missing}};
}

std::string DataQualityText(const data::RawDataset& d) {
  std::string out = std::to_string(d.num_rows()) + " rows";
  if (d.dropped_missing_label) {
    out += ", " + std::to_string(d.dropped_missing_label) + " dropped for a missing label";
  }
  std::string cols;
  for (const data::RawColumn& c : d.features) {
    if (c.missing) cols += (cols.empty() ? "" : ", ") + c.name + " " + std::to_string(c.missing);
  }
  out += cols.empty() ? "; no missing values" : "; missing values imputed: " + cols;
  return out;
}

// The table of --data, or of --spec (*spec_json receives the spec).
Result<data::RawDataset> LoadTable(const TableArgs& t, const data::LoadOptions& opts, bool quiet,
                                   nlohmann::json* spec_json) {
  if (!t.spec.empty()) return LoadSpecDataset(t.spec, opts, quiet, spec_json);
  if (t.data.empty()) return Status::InvalidArgument("give --data (a CSV table) or --spec (a feature spec)");
  return data::LoadDatasetFile(t.data, opts);
}

const std::string& TableName(const TableArgs& t) { return t.spec.empty() ? t.data : t.spec; }

// Unseen categories (values a model's vocabulary lacks, encoded as all zeros): JSON and text.
nlohmann::json UnseenJson(const data::EncodeStats& stats) {
  nlohmann::json by_column = nlohmann::json::object();
  for (const auto& [col, n] : stats.unseen_categories) by_column[col] = n;
  return {{"total", stats.total_unseen()}, {"by_column", by_column}};
}

std::string UnseenText(const data::EncodeStats& stats) {
  if (stats.unseen_categories.empty()) return "no unseen categories";
  std::string cols;
  for (const auto& [col, n] : stats.unseen_categories) {
    cols += (cols.empty() ? "" : ", ") + col + " " + std::to_string(n);
  }
  return std::to_string(stats.total_unseen()) +
         " values of categories the model does not know, encoded as 'other': " + cols;
}

// --threshold / --positive-class on evaluate and segment.
CLI::Option* AddThresholdOptions(CLI::App* cmd, ThresholdArgs& d) {
  CLI::Option* t = cmd->add_option(
      "--threshold", d.threshold,
      "Decide by p(positive class) >= T in place of the model's decision rule (two-class models; "
      "0 < T < 1)");
  cmd->add_option("--positive-class", d.positive_class,
                  "The class --threshold is on (default: the model rule's, else the second class)")
      ->needs(t);
  return t;
}

// The rule to decide with: the model file's, or the command line's. `source` says which.
struct ChosenRule {
  ml::DecisionRule rule;
  std::string source;  // "model" or "--threshold"
};

Result<ChosenRule> RuleFor(const ml::ModelFile& m, const ThresholdArgs& d) {
  if (!d.given) return ChosenRule{m.decision, "model"};
  const std::vector<std::string>& classes = m.schema.class_names();
  if (!(d.threshold > 0 && d.threshold < 1)) {
    return Status::InvalidArgument("--threshold must be strictly between 0 and 1, got " +
                                   std::to_string(d.threshold));
  }
  std::string names;
  for (const std::string& c : classes) names += (names.empty() ? "" : ", ") + c;
  if (classes.size() != 2) {
    return Status::InvalidArgument("--threshold: the model has " + std::to_string(classes.size()) +
                                   " classes (" + names +
                                   "); a threshold needs exactly two, so this model decides by "
                                   "arg-max");
  }
  int pc = m.decision.is_threshold() ? m.decision.positive_class : 1;
  if (!d.positive_class.empty()) {
    auto it = std::find(classes.begin(), classes.end(), d.positive_class);
    if (it == classes.end()) {
      return Status::InvalidArgument("--positive-class '" + d.positive_class +
                                     "' is not a class of the model (" + names + ")");
    }
    pc = static_cast<int>(it - classes.begin());
  }
  return ChosenRule{ml::DecisionRule{ml::DecisionObjective::kOperator, pc, d.threshold, 0},
                    "--threshold"};
}

nlohmann::json RuleJson(const ChosenRule& r, const std::vector<std::string>& classes) {
  nlohmann::json j = r.rule.ToJson(classes);
  j["source"] = r.source;
  j["description"] = r.rule.Describe(classes);
  return j;
}

}  // namespace

Status CheckOutputPath(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (path.empty() || fs::is_directory(p, ec)) {
    return Status::InvalidArgument(flag + " '" + path + "' is not a file name");
  }
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound(flag + " " + path + ": directory '" + dir.string() +
                            "' does not exist; create it first");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return Status::PermissionDenied(flag + " " + path + ": directory '" + dir.string() +
                                    "' is not writable");
  }
  return Status::OK();
}

Result<data::LoadOptions> MakeLoadOptions(const TableArgs& t) {
  data::LoadOptions o;
  o.label = t.label;
  o.id_column = t.id_column;
  o.categorical = t.categorical;
  o.numeric = t.numeric;
  o.drop = t.drop;
  o.dates = t.dates;
  o.log_columns = t.log;
  o.detect_log = t.detect_log;
  for (const std::string& arg : t.date_args) {
    const size_t eq = arg.find('=');
    const std::string column = arg.substr(0, eq);
    if (column.empty()) {
      return Status::InvalidArgument("--date '" + arg + "': give COLUMN or COLUMN=FORMAT");
    }
    o.dates[column] = eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  if (t.delimiter.empty()) {
    o.delimiter = 0;
  } else if (t.delimiter == "tab" || t.delimiter == "\\t" || t.delimiter == "\t") {
    o.delimiter = '\t';
  } else if (t.delimiter == "," || t.delimiter == ";" || t.delimiter == "|") {
    o.delimiter = t.delimiter[0];
  } else {
    return Status::InvalidArgument("--delimiter must be ',', ';', 'tab' or '|', got '" +
                                   t.delimiter + "'");
  }
  return o;
}

int AutoEpochs(size_t training_rows, int batch_size) {
  const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(training_rows));
  const int64_t steps_per_epoch = std::max<int64_t>(1, (rows + batch_size - 1) / std::max(1, batch_size));
  const int64_t epochs = (kAutoEpochSteps + steps_per_epoch - 1) / steps_per_epoch;
  return static_cast<int>(std::clamp<int64_t>(epochs, kMinAutoEpochs, kMaxAutoEpochs));
}

void AddTrainCommand(CLI::App& app, TrainArgs& a, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a segmentation model on this node's table alone (local baseline)");
  AddTableOptions(cmd, a.table, /*label_required=*/true);
  cmd->add_option("--test-data", a.test_data, "Separate test table (default: a stratified split)");
  cmd->add_option("--test-fraction", a.test_fraction,
                  "Share of rows held out for testing when --test-data is absent")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--hidden", a.hidden, "Hidden layer widths, e.g. 64,32 (or 'none')")
      ->capture_default_str();
  cmd->add_option("--epochs", a.train.epochs,
                  "Training epochs; 0 = auto: about 10,000 optimizer steps, 20 to 500 epochs "
                  "(early stopping ends it sooner)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", a.train.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--lr", a.train.optimizer.learning_rate, "Learning rate")->capture_default_str();
  cmd->add_option("--optimizer", a.train.optimizer.name, "adam or sgd")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--momentum", a.train.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--l2", a.train.optimizer.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_option("--class-weight", a.train.class_weight, "none or balanced")
      ->check(CLI::IsMember({"none", "balanced"}))
      ->capture_default_str();
  cmd->add_option("--sampling", a.train.sampling,
                  "Re-sample for imbalanced labels: none, over (random over-sampling of minority "
                  "classes) or under")
      ->check(CLI::IsMember({"none", "over", "under"}))
      ->capture_default_str();
  cmd->add_option("--early-stopping", a.train.early_stopping_patience,
                  "Stop after N epochs without improvement on a validation split (0 = off)")
      ->capture_default_str();
  cmd->add_option("--validation-fraction", a.validation_fraction,
                  "Share of training rows held out (stratified) for early stopping and for "
                  "choosing the decision threshold")
      ->check(CLI::Range(0.01, 0.5))
      ->capture_default_str();
  cmd->add_option("--min-category-count", a.min_category_count,
                  "A category held by fewer training rows never enters the model (encoded as "
                  "'other'); columns whose values are nearly all distinct are not used")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  cmd->add_option("--decision", a.decision,
                  "Decision rule written into the model, chosen on the validation rows (two "
                  "classes): f1 (threshold maximising F1 of the positive class), precision>=P "
                  "(most recall at that precision), recall>=R (most precision at that recall) or "
                  "argmax")
      ->capture_default_str();
  cmd->add_option("--positive-class", a.positive_class,
                  "The class the threshold is on (default: the validation rows' minority class)");
  cmd->add_option("--seed", a.train.seed, "Seed for initialisation, splits and shuffling")
      ->capture_default_str();
  cmd->add_option("--threads", a.train.threads, "OpenMP threads (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--out", a.out, "Where to write the model file (.fsm)")->required();
  cmd->add_flag("--json", a.json, "Print the result as JSON on stdout");
  cmd->add_flag("--quiet", a.quiet, "No per-epoch progress");
  cmd->callback([&a, exit_code] { *exit_code = RunTrain(a); });
}

void AddEvaluateCommand(CLI::App& app, EvaluateArgs& a, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("evaluate", "Classification report of a model on a table");
  cmd->add_option("--model", a.model, "Model file (.fsm)")->required();
  AddTableOptions(cmd, a.table, /*label_required=*/false);
  CLI::Option* threshold = AddThresholdOptions(cmd, a.decision);
  cmd->add_flag("--json", a.json, "Print the report as JSON on stdout");
  cmd->callback([&a, exit_code, threshold] {
    a.decision.given = threshold->count() > 0;
    *exit_code = RunEvaluate(a);
  });
}

void AddSegmentCommand(CLI::App& app, SegmentArgs& a, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "segment", "Assign every user of a table to a segment, with class probabilities");
  cmd->add_option("--model", a.model, "Model file (.fsm)")->required();
  AddTableOptions(cmd, a.table, /*label_required=*/false);
  cmd->add_option("--out", a.out,
                  "Output CSV: id, segment (by the model's decision rule or --threshold), "
                  "p_<class> per class")
      ->required();
  cmd->add_flag("--profile", a.profile,
                "Print each segment's size, share and feature means / most common values");
  CLI::Option* threshold = AddThresholdOptions(cmd, a.decision);
  cmd->add_flag("--json", a.json, "Print the summary (and profiles) as JSON on stdout");
  cmd->callback([&a, exit_code, threshold] {
    a.decision.given = threshold->count() > 0;
    *exit_code = RunSegment(a);
  });
}

int RunTrain(const TrainArgs& a) {
  // The output is checked first, so a typo in --out does not cost a whole training run.
  if (Status st = CheckOutputPath("--out", a.out); !st.ok()) return FailCommand(st);
  ml::ConfigureThreads(a.train.threads);
  auto opts_or = MakeLoadOptions(a.table);
  if (!opts_or.ok()) return FailCommand(opts_or.status());
  data::LoadOptions opts = *opts_or;
  if (opts.label.empty() && a.table.spec.empty()) return FailCommand(Status::InvalidArgument("--label is required"));
  nlohmann::json feature_spec;
  auto data_or = LoadTable(a.table, opts, a.quiet || a.json, &feature_spec);
  if (!data_or.ok()) return FailCommand(data_or.status());
  data::RawDataset& all = *data_or;
  opts.label = all.label_name;
  opts.id_column = all.id_name;
  auto classes_or = data::DistinctLabels(all);
  if (!classes_or.ok()) return FailCommand(classes_or.status());
  auto goal_or = ml::DecisionGoal::Parse(a.decision);
  if (!goal_or.ok()) return FailCommand(goal_or.status().WithContext("--decision"));
  ml::DecisionGoal goal = *goal_or;
  goal.positive_class = a.positive_class;
  if (!goal.positive_class.empty() &&
      std::find(classes_or->begin(), classes_or->end(), goal.positive_class) ==
          classes_or->end()) {
    return FailCommand(Status::InvalidArgument("--positive-class '" + goal.positive_class +
                                               "' is not a value of the label"));
  }
  // Two classes and a threshold objective: the rule is chosen on validation rows.
  const bool choose_threshold =
      goal.objective != ml::DecisionObjective::kArgMax && classes_or->size() == 2;
  std::vector<std::string> warnings;
  if (std::string w = data::NumericLabelWarning(opts.label, *classes_or); !w.empty()) {
    warnings.push_back(w);
  }
  const nlohmann::json quality = DataQualityJson(all);
  if (!a.quiet && !a.json) std::cerr << TableName(a.table) << ": " << DataQualityText(all) << "\n";
  const std::vector<std::string> load_notes = all.notes;
  if (!a.json) {
    for (const std::string& note : load_notes) std::cerr << "note: " << note << "\n";
  }

  data::RawDataset train_raw, test_raw;
  if (!a.test_data.empty()) {
    auto test_or = data::LoadDatasetFile(a.test_data, data::SameColumnsAs(all, opts));
    if (!test_or.ok()) return FailCommand(test_or.status());
    train_raw = std::move(all);
    test_raw = std::move(*test_or);
  } else if (a.test_fraction > 0) {
    auto [tr, te] = data::StratifiedSplit(all.labels, a.test_fraction, a.train.seed);
    train_raw = data::SelectRows(all, tr);
    test_raw = SelectRows(all, te);
  } else {
    train_raw = std::move(all);
  }
  // One validation split, from the training rows only, serves early stopping and the decision
  // threshold: the test rows never choose anything.
  data::RawDataset val_raw;
  if (a.train.early_stopping_patience > 0 || choose_threshold) {
    auto [tr, va] = data::StratifiedSplit(train_raw.labels, a.validation_fraction, a.train.seed + 1);
    val_raw = data::SelectRows(train_raw, va);
    train_raw = data::SelectRows(train_raw, tr);
  }

  // The same category rules as a region's federated summary: identifier-like columns and rare
  // categories never enter the model file.
  data::CategoryPolicy policy;
  policy.min_category_count = a.min_category_count;
  data::DataSummary summary = data::Summarize(train_raw);
  const data::CategoryPolicyReport kept = data::ApplyCategoryPolicy(policy, &summary, &train_raw);
  for (const std::string& w : kept.Warnings()) warnings.push_back(w);
  for (const std::string& w : warnings) std::cerr << "warning: " << w << "\n";
  auto schema_or = data::Schema::FromSummary(summary, opts.label);
  if (!schema_or.ok()) return FailCommand(schema_or.status().WithContext(TableName(a.table)));
  data::Schema schema = std::move(*schema_or);
  for (const std::string& note : load_notes) schema.AddNote(note);
  auto train_or = schema.Encode(train_raw);
  if (!train_or.ok()) return FailCommand(train_or.status());
  auto test_or = schema.Encode(test_raw);
  if (!test_or.ok()) return FailCommand(test_or.status());
  auto val_or = schema.Encode(val_raw);
  if (!val_or.ok()) return FailCommand(val_or.status());

  auto hidden_or = ml::ParseHiddenLayers(a.hidden);
  if (!hidden_or.ok()) return FailCommand(hidden_or.status());
  ml::ModelSpec spec{schema.input_dim(), *hidden_or, schema.num_classes()};
  auto model_or = ml::Mlp::Create(spec);
  if (!model_or.ok()) return FailCommand(model_or.status());
  ml::Mlp& model = *model_or;
  model.InitRandom(a.train.seed);

  if (!a.quiet) {
    std::cerr << "training " << spec.ToString() << " on " << train_or->rows() << " rows ("
              << test_or->rows() << " test";
    if (val_or->rows()) std::cerr << ", " << val_or->rows() << " validation";
    std::cerr << ") from " << TableName(a.table) << "\n";
  }
  ml::TrainConfig train = a.train;
  if (train.epochs == 0) train.epochs = AutoEpochs(train_or->rows(), train.batch_size);
  const int total = train.epochs;
  ProgressLine bar;
  const bool early_stopping = a.train.early_stopping_patience > 0 && val_or->rows() > 0;
  auto report_or = Train(model, *train_or, early_stopping ? &*val_or : nullptr, train,
                         [&](const ml::EpochReport& e) {
                           if (!a.quiet) PrintEpoch(bar, e, total);
                         });
  bar.Done();
  if (!report_or.ok()) return FailCommand(report_or.status());
  const ml::TrainReport& tr = *report_or;
  if (!a.quiet && tr.stopped_early) {
    std::cerr << "early stopping after epoch " << tr.epochs_run << "; kept epoch "
              << tr.best_epoch << "\n";
  }

  nlohmann::json meta = {
      {"mode", "local"},
      {"created_at", NowIso8601()},
      {"source", TableName(a.table)},
      {"train_rows", train_or->rows()},
      {"epochs_run", tr.epochs_run},
      {"best_epoch", tr.best_epoch},
      {"config",
       {{"hidden", a.hidden},
        {"epochs", train.epochs},
        {"batch_size", a.train.batch_size},
        {"optimizer", a.train.optimizer.name},
        {"lr", a.train.optimizer.learning_rate},
        {"l2", a.train.optimizer.weight_decay},
        {"class_weight", a.train.class_weight},
        {"sampling", a.train.sampling},
        {"seed", a.train.seed}}}};
  if (!feature_spec.is_null()) meta["feature_spec"] = feature_spec;  // segment recomputes it
  // The decision rule, chosen on the validation rows' summary (decision_rule.h).
  const std::vector<std::string>& names = schema.class_names();
  auto choice_or = ml::ChooseDecisionRule(ml::Evaluate(model, *val_or), goal, names);
  if (!choice_or.ok()) return FailCommand(choice_or.status());
  const ml::DecisionChoice& choice = *choice_or;
  if (!choice.note.empty()) std::cerr << "warning: decision rule: " << choice.note << "\n";
  meta["decision"] = choice.ToJson(names);
  meta["validation_rows"] = val_or->rows();
  ml::ModelFile file{schema, model, meta.dump(), choice.rule};
  Status st = ml::SaveModelFile(a.out, file);
  if (!st.ok()) return FailCommand(st);

  nlohmann::json out = {{"model", a.out},
                        {"architecture", spec.ToString()},
                        {"parameters", spec.num_params()},
                        {"train_rows", train_or->rows()},
                        {"test_rows", test_or->rows()},
                        {"epochs_run", tr.epochs_run},
                        {"best_epoch", tr.best_epoch},
                        {"seconds", tr.seconds},
                        {"examples_per_second", tr.seconds > 0 ? tr.examples_seen / tr.seconds : 0}};
  nlohmann::json hist = nlohmann::json::array();
  for (const ml::EpochReport& e : tr.history) {
    hist.push_back({{"epoch", e.epoch},
                    {"train_loss", e.train_loss},
                    {"validation_loss",
                     std::isnan(e.validation_loss) ? nlohmann::json(nullptr)
                                                   : nlohmann::json(e.validation_loss)}});
  }
  out["history"] = hist;
  out["data"] = quality;
  out["warnings"] = warnings;
  out["notes"] = schema.notes();
  out["rare_categories_dropped"] = kept.rare_categories_dropped;
  out["validation_rows"] = val_or->rows();
  out["decision"] = choice.ToJson(names);
  out["decision"]["description"] = choice.rule.Describe(names);
  ml::ClassificationReport rep, rep_rule;
  if (test_or->rows() > 0) {
    const ml::RuleEvaluation ev = ml::EvaluateWithRule(model, *test_or, choice.rule);
    rep = ml::ComputeReport(ev.summary);
    auto at_rule = ml::ComputeReport(ev.summary, ev.rule_confusion);
    if (!at_rule.ok()) return FailCommand(at_rule.status());
    rep_rule = *at_rule;
    out["test"] = rep.ToJson(names);  // at arg-max, as before decision rules
    out["test_at_rule"] = rep_rule.ToJson(names);
  }
  if (a.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "model " << spec.ToString() << " (" << spec.num_params() << " parameters) saved to "
              << a.out << "\n";
    std::cout << "decision rule: " << choice.rule.Describe(names);
    if (choice.rule.is_threshold()) {
      std::cout << ", chosen on " << choice.rows << " validation rows";
    }
    std::cout << "\n";
    if (test_or->rows() > 0 && choice.rule.is_threshold()) {
      std::cout << "\nTest report at the decision rule (" << test_or->rows() << " rows):\n"
                << rep_rule.ToText(names) << "\nTest report at arg-max (" << test_or->rows()
                << " rows):\n"
                << rep.ToText(names);
    } else if (test_or->rows() > 0) {
      std::cout << "\nTest report (" << test_or->rows() << " rows):\n" << rep.ToText(names);
    }
  }
  return 0;
}

namespace {

struct LoadedTable {
  ml::ModelFile model;
  data::RawDataset raw;
  data::EncodedData encoded;
  data::EncodeStats stats;
};

Result<LoadedTable> LoadForModel(const std::string& model_path, const TableArgs& t,
                                 bool label_optional) {
  LoadedTable out;
  FEDSEG_ASSIGN_OR_RETURN(out.model, ml::LoadModelFile(model_path));
  data::LoadOptions opts = out.model.schema.MakeLoadOptions(label_optional);
  if (!t.label.empty()) opts.label = t.label;
  opts.id_column = t.id_column;
  opts.drop = t.drop;
  FEDSEG_ASSIGN_OR_RETURN(data::LoadOptions cli, MakeLoadOptions(t));
  opts.delimiter = cli.delimiter;
  if (!t.spec.empty()) {  // the spec must compute the features the model was trained on
    FEDSEG_ASSIGN_OR_RETURN(nlohmann::json spec, LoadJsonConfig(t.spec));
    const nlohmann::json meta = nlohmann::json::parse(out.model.metadata_json, nullptr, false);
    if (meta.is_object() && meta.contains("feature_spec")) {
      FEDSEG_RETURN_IF_ERROR(CheckSameDefinition(spec, meta["feature_spec"], "the model " + model_path).WithContext(t.spec));
    }
  }
  FEDSEG_ASSIGN_OR_RETURN(out.raw, LoadTable(t, opts, /*quiet=*/true, nullptr));
  if (label_optional) out.raw.labels.clear();  // segmenting needs no labels
  FEDSEG_ASSIGN_OR_RETURN(out.encoded, out.model.schema.Encode(out.raw, &out.stats));
  return out;
}

}  // namespace

int RunEvaluate(const EvaluateArgs& a) {
  ml::ConfigureThreads(0);
  auto loaded = LoadForModel(a.model, a.table, /*label_optional=*/false);
  if (!loaded.ok()) return FailCommand(loaded.status());
  auto rule = RuleFor(loaded->model, a.decision);
  if (!rule.ok()) return FailCommand(rule.status());
  const ml::RuleEvaluation ev =
      ml::EvaluateWithRule(loaded->model.model, loaded->encoded, rule->rule);
  const ml::ClassificationReport rep = ComputeReport(ev.summary);
  auto at_rule = ComputeReport(ev.summary, ev.rule_confusion);
  if (!at_rule.ok()) return FailCommand(at_rule.status());
  const auto& classes = loaded->model.schema.class_names();
  if (a.json) {
    nlohmann::json out = rep.ToJson(classes);  // at arg-max, as before decision rules
    out["model"] = a.model;
    out["data"] = TableName(a.table);
    out["unseen_categories"] = UnseenJson(loaded->stats);
    out["decision_rule"] = RuleJson(*rule, classes);
    out["at_rule"] = at_rule->ToJson(classes);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "Evaluation of " << a.model << " on " << TableName(a.table) << " ("
              << loaded->encoded.rows() << " rows; " << UnseenText(loaded->stats) << "):\n";
    if (rule->rule.is_threshold()) {
      std::cout << "\nAt the decision rule " << rule->rule.Describe(classes)
                << (rule->source == "model" ? ", from the model" : "")
                << ":\n"
                << at_rule->ToText(classes) << "\nAt arg-max (the most probable class):\n"
                << rep.ToText(classes);
    } else {
      std::cout << "decision rule: arg-max (the most probable class)\n" << rep.ToText(classes);
    }
  }
  return 0;
}

int RunSegment(const SegmentArgs& a) {
  if (Status st = CheckOutputPath("--out", a.out); !st.ok()) return FailCommand(st);
  ml::ConfigureThreads(0);
  auto loaded = LoadForModel(a.model, a.table, /*label_optional=*/true);
  if (!loaded.ok()) return FailCommand(loaded.status());
  auto rule = RuleFor(loaded->model, a.decision);
  if (!rule.ok()) return FailCommand(rule.status());
  const data::Schema& schema = loaded->model.schema;
  const auto& classes = schema.class_names();
  Eigen::MatrixXf probs;
  loaded->model.model.Predict(loaded->encoded.x, &probs);
  const size_t n = loaded->encoded.rows();
  std::vector<int> segment(n);
  std::vector<float> confidence(n);
  std::string csv;
  csv.reserve(n * (24 + 12 * classes.size()));
  data::AppendCsvField(csv, loaded->raw.id_name.empty() ? "row" : loaded->raw.id_name);
  csv += ",segment";
  for (const std::string& c : classes) {
    csv += ',';
    data::AppendCsvField(csv, "p_" + c);
  }
  csv += '\n';
  char num[32];
  const int k = static_cast<int>(classes.size());
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Index best =
        rule->rule.Decide(probs.data() + i * static_cast<size_t>(k), k);
    segment[i] = static_cast<int>(best);
    confidence[i] = probs(best, static_cast<Eigen::Index>(i));
    data::AppendCsvField(csv, loaded->raw.ids[i]);
    csv += ',';
    data::AppendCsvField(csv, classes[best]);
    for (size_t c = 0; c < classes.size(); ++c) {
      std::snprintf(num, sizeof num, ",%.6f", probs(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(i)));
      csv += num;
    }
    csv += '\n';
  }
  Status st = WriteFileAtomic(a.out, csv);
  if (!st.ok()) return FailCommand(st);

  std::vector<SegmentProfile> profiles;
  if (a.profile) profiles = ComputeProfiles(loaded->raw, segment, confidence, classes);
  if (a.json) {
    nlohmann::json out = {{"model", a.model}, {"data", TableName(a.table)}, {"out", a.out}, {"rows", n},
                          {"data_quality", DataQualityJson(loaded->raw)},
                          {"unseen_categories", UnseenJson(loaded->stats)},
                          {"decision_rule", RuleJson(*rule, classes)}};
    nlohmann::json sizes = nlohmann::json::object();
    std::vector<uint64_t> count(classes.size(), 0);
    for (int s : segment) ++count[s];
    for (size_t c = 0; c < classes.size(); ++c) sizes[classes[c]] = count[c];
    out["segment_sizes"] = sizes;
    if (a.profile) out["profiles"] = ProfilesToJson(profiles);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "segmented " << n << " rows of " << TableName(a.table) << " into " << a.out << " ("
              << DataQualityText(loaded->raw) << "; " << UnseenText(loaded->stats) << ")\n"
              << "decision rule: " << rule->rule.Describe(classes)
              << (rule->source == "model" ? ", from the model" : "") << "\n";
    if (a.profile) std::cout << "\n" << ProfilesToText(profiles);
  }
  return 0;
}

}  // namespace fedseg::client

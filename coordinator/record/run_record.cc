#include "coordinator/record/run_record.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "coordinator/record/internal/json_reader.h"
#include "coordinator/record/json_number.h"

namespace fedseg::coordinator {
namespace {

using internal::JsonReader;
using Json = nlohmann::json;

std::string Indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

Result<MetricsBrief> ReadBrief(const JsonReader& parent, const std::string& key) {
  FEDSEG_ASSIGN_OR_RETURN(JsonReader r, parent.Object(key));
  MetricsBrief b;
  FEDSEG_RETURN_IF_ERROR(r.Uint64("rows", &b.rows));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("loss", &b.loss));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("accuracy", &b.accuracy));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("macro_f1", &b.macro_f1));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("positive_f1", &b.positive_f1));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("roc_auc", &b.roc_auc));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("kappa", &b.kappa));
  return b;
}

// One entry of the rounds array; its evaluation and training groups are each all or nothing.
Result<RoundResult> ReadRound(const JsonReader& r) {
  RoundResult out;
  FEDSEG_RETURN_IF_ERROR(r.Uint32("round", &out.round));
  if (r.Has("global") || r.Has("regions") || r.Has("evaluated_by") || r.Has("report")) {
    RoundEvaluation e;
    FEDSEG_ASSIGN_OR_RETURN(e.global, ReadBrief(r, "global"));
    FEDSEG_ASSIGN_OR_RETURN(JsonReader regions, r.Object("regions"));
    for (const auto& [name, v] : regions.json().items()) {
      FEDSEG_ASSIGN_OR_RETURN(e.regions[name], ReadBrief(regions, name));
    }
    FEDSEG_RETURN_IF_ERROR(r.Uint64("evaluated_by", &e.evaluated_by));
    if (r.Has("report")) {
      FEDSEG_ASSIGN_OR_RETURN(JsonReader report, r.Object("report"));
      e.report = report.json();
    }
    if (r.Has("diverging")) FEDSEG_RETURN_IF_ERROR(r.String("diverging", &e.diverging));
    out.evaluation = std::move(e);
  }
  if (r.Has("selected") || r.Has("updates") || r.Has("examples") || r.Has("train_loss") ||
      r.Has("seconds") || r.Has("participants") || r.Has("refused")) {
    RoundTraining t;
    FEDSEG_RETURN_IF_ERROR(r.Uint64("selected", &t.selected));
    FEDSEG_RETURN_IF_ERROR(r.Uint64("updates", &t.updates));
    FEDSEG_RETURN_IF_ERROR(r.Uint64("examples", &t.examples));
    FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("train_loss", &t.train_loss));
    FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("seconds", &t.seconds));
    FEDSEG_RETURN_IF_ERROR(r.Strings("participants", &t.participants));
    // Written only when a region was refused (documented in the header).
    if (r.Has("refused")) FEDSEG_RETURN_IF_ERROR(r.Strings("refused", &t.refused));
    out.training = std::move(t);
  }
  return out;
}

// A round number used as an object key ("3").
bool ParseRoundKey(const std::string& key, uint32_t* out) {
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), *out);
  return ec == std::errc() && ptr == key.data() + key.size() && !key.empty();
}

Result<RegionResult> ReadRegion(const JsonReader& r) {
  RegionResult g;
  FEDSEG_RETURN_IF_ERROR(r.Uint64("train_rows", &g.train_rows));
  FEDSEG_RETURN_IF_ERROR(r.Uint64("test_rows", &g.test_rows));
  FEDSEG_RETURN_IF_ERROR(r.Int("rounds_participated", &g.rounds_participated));
  FEDSEG_RETURN_IF_ERROR(r.Int("rounds_missed", &g.rounds_missed));
  FEDSEG_RETURN_IF_ERROR(r.Uint32s("declined_rounds", &g.declined_rounds));
  FEDSEG_RETURN_IF_ERROR(r.String("decline_reason", &g.decline_reason));
  FEDSEG_RETURN_IF_ERROR(r.Bool("retired", &g.retired));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("epsilon_spent", &g.epsilon_spent));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("epsilon_budget", &g.epsilon_budget));
  FEDSEG_ASSIGN_OR_RETURN(JsonReader by_round, r.Object("epsilon_by_round"));
  for (const auto& [key, v] : by_round.json().items()) {
    uint32_t round = 0;
    if (!ParseRoundKey(key, &round)) return by_round.Error(key, "not a round number");
    FEDSEG_RETURN_IF_ERROR(by_round.NumberOrNull(key, &g.epsilon_by_round[round]));
  }
  // Added with the privacy ledger: older files lack both (documented in the header).
  if (r.Has("epsilon_delta")) FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("epsilon_delta", &g.epsilon_delta));
  if (r.Has("ledger_head")) FEDSEG_RETURN_IF_ERROR(r.String("ledger_head", &g.ledger_head));
  // Written only for a region with a refused update (documented in the header).
  if (r.Has("updates_refused") || r.Has("last_refused_round") || r.Has("last_refusal")) {
    FEDSEG_RETURN_IF_ERROR(r.Int("updates_refused", &g.updates_refused));
    FEDSEG_RETURN_IF_ERROR(r.Uint32("last_refused_round", &g.last_refused_round));
    FEDSEG_RETURN_IF_ERROR(r.String("last_refusal", &g.last_refusal));
  }
  FEDSEG_RETURN_IF_ERROR(r.Bool("connected", &g.connected));
  return g;
}

Result<std::vector<RoundResult>> ReadRounds(const Json& j, const std::string& where,
                                            const std::string& path) {
  if (!j.is_array()) {
    return Status::Corruption(where + ": " + path + ": expected an array, found " +
                              internal::JsonTypeName(j));
  }
  std::vector<RoundResult> rounds;
  for (size_t i = 0; i < j.size(); ++i) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader r, JsonReader::Open(j[i], where, Indexed(path, i)));
    FEDSEG_ASSIGN_OR_RETURN(RoundResult round, ReadRound(r));
    if (round.round != i) {
      return r.Error("round", "is " + std::to_string(round.round) + ", expected " +
                                  std::to_string(i));
    }
    rounds.push_back(std::move(round));
  }
  return rounds;
}

Result<std::map<std::string, RegionResult>> ReadRegions(const Json& j, const std::string& where,
                                                        const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(JsonReader regions, JsonReader::Open(j, where, path));
  std::map<std::string, RegionResult> out;
  for (const auto& [name, v] : j.items()) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader r, regions.Object(name));
    FEDSEG_ASSIGN_OR_RETURN(out[name], ReadRegion(r));
  }
  return out;
}

Result<DecisionMetrics> ReadDecisionMetrics(const JsonReader& parent, const std::string& key) {
  FEDSEG_ASSIGN_OR_RETURN(JsonReader r, parent.Object(key));
  DecisionMetrics m;
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("precision", &m.precision));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("recall", &m.recall));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("f1", &m.f1));
  return m;
}

Result<DecisionRecord> ReadDecision(const JsonReader& r) {
  DecisionRecord d;
  FEDSEG_RETURN_IF_ERROR(r.String("goal", &d.goal));
  FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("target", &d.target));
  FEDSEG_RETURN_IF_ERROR(r.String("kind", &d.kind));
  if (d.kind != "argmax" && d.kind != "threshold") {
    return r.Error("kind", "is '" + d.kind + "', expected argmax or threshold");
  }
  FEDSEG_ASSIGN_OR_RETURN(const Json* pc, r.Member("positive_class"));
  if (!pc->is_null()) FEDSEG_RETURN_IF_ERROR(r.String("positive_class", &d.positive_class));
  FEDSEG_ASSIGN_OR_RETURN(const Json* threshold, r.Member("threshold"));
  if (!threshold->is_null()) {
    double t = 0;
    FEDSEG_RETURN_IF_ERROR(r.NumberOrNull("threshold", &t));
    d.threshold = t;
  }
  FEDSEG_RETURN_IF_ERROR(r.String("note", &d.note));
  FEDSEG_RETURN_IF_ERROR(r.Uint64("rows", &d.rows));
  if (r.Has("at_rule") || r.Has("at_argmax")) {
    FEDSEG_ASSIGN_OR_RETURN(d.at_rule, ReadDecisionMetrics(r, "at_rule"));
    FEDSEG_ASSIGN_OR_RETURN(d.at_argmax, ReadDecisionMetrics(r, "at_argmax"));
  }
  return d;
}

std::string CsvCell(double v) {
  if (!std::isfinite(v)) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", v);
  return b;
}

std::string CsvRow(size_t round, const std::string& scope, const MetricsBrief& m) {
  return std::to_string(round) + "," + scope + "," + std::to_string(m.rows) + "," +
         CsvCell(m.loss) + "," + CsvCell(m.accuracy) + "," + CsvCell(m.macro_f1) + "," +
         CsvCell(m.positive_f1) + "," + CsvCell(m.roc_auc) + "," + CsvCell(m.kappa) + "\n";
}

}  // namespace

MetricsBrief MetricsBrief::FromReport(const ml::ClassificationReport& r) {
  return {r.count, r.log_loss, r.accuracy, r.macro_f1, r.positive_f1, r.roc_auc, r.cohen_kappa};
}

Json MetricsBrief::ToJson() const {
  return {{"rows", rows},         {"loss", NumberOrNull(loss)},       {"accuracy", NumberOrNull(accuracy)},
          {"macro_f1", NumberOrNull(macro_f1)}, {"positive_f1", NumberOrNull(positive_f1)},
          {"roc_auc", NumberOrNull(roc_auc)},   {"kappa", NumberOrNull(kappa)}};
}

Json RoundResult::ToJson() const {
  Json h = {{"round", round}};
  if (evaluation) {
    Json per_region = Json::object();
    for (const auto& [name, b] : evaluation->regions) per_region[name] = b.ToJson();
    h["global"] = evaluation->global.ToJson();
    h["regions"] = std::move(per_region);
    h["evaluated_by"] = evaluation->evaluated_by;
    if (evaluation->report) h["report"] = *evaluation->report;
    if (!evaluation->diverging.empty()) h["diverging"] = evaluation->diverging;
  }
  if (training) {
    h["selected"] = training->selected;
    h["updates"] = training->updates;
    h["examples"] = training->examples;
    h["train_loss"] = NumberOrNull(training->train_loss);
    h["seconds"] = NumberOrNull(training->seconds);
    h["participants"] = training->participants;
    if (!training->refused.empty()) h["refused"] = training->refused;
  }
  return h;
}

Json RegionResult::ToJson() const {
  Json by_round = Json::object();
  for (const auto& [round, eps] : epsilon_by_round) by_round[std::to_string(round)] = NumberOrNull(eps);
  Json out = {{"train_rows", train_rows},
               {"test_rows", test_rows},
               {"rounds_participated", rounds_participated},
               {"rounds_missed", rounds_missed},
               {"declined_rounds", declined_rounds},
               {"decline_reason", decline_reason},
               {"retired", retired},
               {"epsilon_spent", NumberOrNull(epsilon_spent)},
               {"epsilon_budget", NumberOrNull(epsilon_budget)},
               {"epsilon_by_round", std::move(by_round)},
               {"epsilon_delta", NumberOrNull(epsilon_delta)},
               {"ledger_head", ledger_head},
               {"connected", connected}};
  if (updates_refused > 0) {
    out["updates_refused"] = updates_refused;
    out["last_refused_round"] = last_refused_round;
    out["last_refusal"] = last_refusal;
  }
  return out;
}

Json DecisionMetrics::ToJson() const {
  return {{"precision", NumberOrNull(precision)},
          {"recall", NumberOrNull(recall)},
          {"f1", NumberOrNull(f1)}};
}

Json DecisionRecord::ToJson() const {
  Json j = {{"goal", goal},
            {"target", NumberOrNull(target)},
            {"kind", kind},
            {"positive_class", positive_class.empty() ? Json() : Json(positive_class)},
            {"threshold", threshold ? NumberOrNull(*threshold) : Json()},
            {"note", note},
            {"rows", rows}};
  if (at_rule) j["at_rule"] = at_rule->ToJson();
  if (at_argmax) j["at_argmax"] = at_argmax->ToJson();
  return j;
}

Json ModelFacts::ToJson() const {
  return {{"architecture", architecture}, {"parameters", parameters}, {"classes", classes}};
}

RoundResult& RunRecord::Round(uint32_t r) {
  while (rounds.size() <= r) {
    rounds.emplace_back();
    rounds.back().round = static_cast<uint32_t>(rounds.size() - 1);
  }
  return rounds[r];
}

const RoundResult* RunRecord::Final() const { return final_round ? &*final_round : nullptr; }

Json RunRecord::RoundsToJson() const {
  Json out = Json::array();
  for (const RoundResult& r : rounds) out.push_back(r.ToJson());
  return out;
}

Json RunRecord::RegionsToJson() const {
  Json out = Json::object();
  for (const auto& [name, r] : regions) out[name] = r.ToJson();
  return out;
}

Json RunRecord::ToJson() const {
  Json report = {{"run_id", run_id},
                 {"status", status},
                 {"completed_round", completed_round},
                 {"config", config},
                 {"rounds", RoundsToJson()},
                 {"regions", RegionsToJson()},
                 {"bytes_received", bytes_received}};
  if (!status_detail.empty()) report["status_detail"] = status_detail;
  if (model) {
    report["model"] = model->ToJson();
  }
  if (const RoundResult* f = Final()) report["final"] = f->ToJson();
  if (refused_connections) report["refused_connections"] = *refused_connections;
  if (decision) report["decision"] = decision->ToJson();
  // Derived from the configuration echo (its one home): a run with secure aggregation says so at
  // the top level, with its parameters; a run without it reads as before.
  if (config.is_object() && config.contains("secure_aggregation") &&
      config["secure_aggregation"].is_object() &&
      config["secure_aggregation"].value("enabled", false)) {
    Json params = config["secure_aggregation"];
    params.erase("enabled");
    report["secure_aggregation"] = true;
    report["secure_aggregation_parameters"] = std::move(params);
  }
  return report;
}

Result<std::vector<RoundResult>> RunRecord::RoundsFromJson(const Json& j, const std::string& where) {
  return ReadRounds(j, where, "rounds");
}

Result<std::map<std::string, RegionResult>> RunRecord::RegionsFromJson(const Json& j,
                                                                       const std::string& where) {
  return ReadRegions(j, where, "regions");
}

Result<RunRecord> RunRecord::FromJson(const Json& j, const std::string& where) {
  FEDSEG_ASSIGN_OR_RETURN(JsonReader root, JsonReader::Open(j, where, ""));
  RunRecord rec;
  FEDSEG_RETURN_IF_ERROR(root.String("run_id", &rec.run_id));
  FEDSEG_RETURN_IF_ERROR(root.String("status", &rec.status));
  if (root.Has("status_detail")) {
    FEDSEG_RETURN_IF_ERROR(root.String("status_detail", &rec.status_detail));
  }
  FEDSEG_RETURN_IF_ERROR(root.Uint32("completed_round", &rec.completed_round));
  FEDSEG_ASSIGN_OR_RETURN(JsonReader config, root.Object("config"));
  rec.config = config.json();
  FEDSEG_ASSIGN_OR_RETURN(const Json* rounds, root.Member("rounds"));
  FEDSEG_ASSIGN_OR_RETURN(rec.rounds, ReadRounds(*rounds, where, "rounds"));
  FEDSEG_ASSIGN_OR_RETURN(const Json* regions, root.Member("regions"));
  FEDSEG_ASSIGN_OR_RETURN(rec.regions, ReadRegions(*regions, where, "regions"));
  FEDSEG_RETURN_IF_ERROR(root.Uint64("bytes_received", &rec.bytes_received));
  if (root.Has("model")) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader m, root.Object("model"));
    ModelFacts facts;
    FEDSEG_RETURN_IF_ERROR(m.String("architecture", &facts.architecture));
    FEDSEG_RETURN_IF_ERROR(m.Int64("parameters", &facts.parameters));
    FEDSEG_RETURN_IF_ERROR(m.Strings("classes", &facts.classes));
    rec.model = std::move(facts);
  }
  if (root.Has("final")) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader f, root.Object("final"));
    FEDSEG_ASSIGN_OR_RETURN(rec.final_round, ReadRound(f));
  }
  if (root.Has("refused_connections")) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader refused, root.Object("refused_connections"));
    std::map<std::string, uint64_t> counts;
    for (const auto& [reason, v] : refused.json().items()) {
      FEDSEG_RETURN_IF_ERROR(refused.Uint64(reason, &counts[reason]));
    }
    rec.refused_connections = std::move(counts);
  }
  // Added with decision rules (issue 14): older reports have none.
  if (root.Has("decision")) {
    FEDSEG_ASSIGN_OR_RETURN(JsonReader d, root.Object("decision"));
    FEDSEG_ASSIGN_OR_RETURN(rec.decision, ReadDecision(d));
  }
  return rec;
}

std::string RunRecord::MetricsCsv() const {
  std::string csv = "round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa\n";
  for (size_t i = 0; i < rounds.size(); ++i) {
    const std::optional<RoundEvaluation>& e = rounds[i].evaluation;
    if (!e) continue;
    csv += CsvRow(i, "global", e->global);
    for (const auto& [name, b] : e->regions) csv += CsvRow(i, name, b);
  }
  return csv;
}

}  // namespace fedseg::coordinator

#include "common/features/feature_spec.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "common/base/json_config.h"
#include "common/data/timestamp.h"

namespace fedseg::features {
namespace {

using nlohmann::json;

struct AggName {
  const char* name;
  Aggregation agg;
};
constexpr AggName kAggregations[] = {
    {"count", Aggregation::kCount},
    {"distinct_count", Aggregation::kDistinctCount},
    {"sum", Aggregation::kSum},
    {"mean", Aggregation::kMean},
    {"min", Aggregation::kMin},
    {"max", Aggregation::kMax},
    {"stddev", Aggregation::kStddev},
    {"recency", Aggregation::kRecency},
    {"tenure", Aggregation::kTenure},
    {"share", Aggregation::kShare},
    {"events_per_active_day", Aggregation::kEventsPerActiveDay},
    {"session_duration", Aggregation::kSessionDuration},
};

bool NeedsColumn(Aggregation a) {
  return a == Aggregation::kDistinctCount || a == Aggregation::kSum || a == Aggregation::kMean ||
         a == Aggregation::kMin || a == Aggregation::kMax || a == Aggregation::kStddev ||
         a == Aggregation::kShare;
}

// Counts, sums and shares of a user without events are 0; everything else is undefined.
bool AbsentIsZero(Aggregation a) {
  return a == Aggregation::kCount || a == Aggregation::kDistinctCount || a == Aggregation::kSum ||
         a == Aggregation::kShare || a == Aggregation::kEventsPerActiveDay;
}

Status Invalid(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

Status ReadWindow(JsonConfigReader& r, const std::string& where, Window* w) {
  JsonConfigReader wr = r.Sub("window");
  std::optional<double> start, end;
  // JsonConfigReader::Get leaves the value alone when the key is absent.
  double v = NAN;
  wr.Get("start_days", &v);
  if (!std::isnan(v)) start = v;
  v = NAN;
  wr.Get("end_days", &v);
  if (!std::isnan(v)) end = v;
  FEDSEG_RETURN_IF_ERROR(wr.Finish());
  if (start) w->start_days = *start;
  if (end) w->end_days = *end;
  if (!std::isfinite(w->end_days) || !(w->start_days < w->end_days)) {
    return Invalid(where, "window start_days must be less than end_days (got [" +
                              std::to_string(w->start_days) + ", " + std::to_string(w->end_days) +
                              "))");
  }
  return Status::OK();
}

Status ReadFilters(const json& entry, const std::string& where, const std::string& source,
                   std::vector<Filter>* out) {
  if (!entry.contains("filter")) return Status::OK();
  json list = entry.at("filter");
  if (list.is_object()) list = json::array({list});
  if (!list.is_array()) return Invalid(where, "'filter' must be an object or a list of objects");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string fw = where + " filter[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return Invalid(fw, "must be an object");
    JsonConfigReader r(list[i], "", source);
    Filter f;
    std::string op = "==";
    r.Get("column", &f.column);
    r.Get("op", &op);
    json value;
    r.Get("value", &value);
    Status st = r.Finish();
    if (!st.ok()) return st.WithContext(fw);
    if (f.column.empty()) return Invalid(fw, "'column' is required");
    static const std::map<std::string, FilterOp> kOps = {
        {"==", FilterOp::kEq}, {"!=", FilterOp::kNe}, {"<", FilterOp::kLt},
        {"<=", FilterOp::kLe}, {">", FilterOp::kGt},  {">=", FilterOp::kGe}};
    auto it = kOps.find(op);
    if (it == kOps.end()) return Invalid(fw, "op '" + op + "' is not one of == != < <= > >=");
    f.op = it->second;
    if (value.is_number()) {
      f.numeric = true;
      f.number = value.get<double>();
      f.value = value.dump();
    } else if (value.is_string()) {
      f.value = value.get<std::string>();
      if (f.op != FilterOp::kEq && f.op != FilterOp::kNe) {
        return Invalid(fw, "op '" + op + "' compares numbers; 'value' must be a number");
      }
    } else {
      return Invalid(fw, "'value' must be a string or a number");
    }
    out->push_back(std::move(f));
  }
  return Status::OK();
}

Status ReadSource(const std::string& name, const json& j, const std::string& spec_file,
                  const std::string& base_dir, SourceSpec* s) {
  const std::string where = spec_file + ": sources." + name;
  if (!j.is_object()) return Invalid(where, "must be an object");
  JsonConfigReader r(j, "sources." + name + ".", spec_file);
  s->name = name;
  std::string delimiter = ",", encoding = "utf-8", bad_rows = "fail";
  r.Get("path", &s->path);
  r.Get("user_id", &s->user_id);
  r.Get("timestamp", &s->timestamp);
  r.Get("timestamp_format", &s->timestamp_format);
  r.Get("delimiter", &delimiter);
  r.Get("encoding", &encoding);
  r.Get("header", &s->header);
  r.Get("columns", &s->columns);
  r.Get("bad_rows", &bad_rows);
  FEDSEG_RETURN_IF_ERROR(r.Finish());
  if (s->path.empty()) return Invalid(where, "'path' is required");
  if (s->user_id.empty()) return Invalid(where, "'user_id' (the user-id column) is required");
  if (!base_dir.empty() && std::filesystem::path(s->path).is_relative()) {
    s->path = (std::filesystem::path(base_dir) / s->path).lexically_normal().string();
  }
  if (delimiter == "whitespace") {
    s->delimiter = ' ';
  } else if (delimiter == "tab" || delimiter == "\t") {
    s->delimiter = '\t';
  } else if (delimiter.size() == 1 && delimiter != "\"" && delimiter != "\n" && delimiter != "\r" &&
             delimiter != " ") {
    s->delimiter = delimiter[0];
  } else {
    return Invalid(
        where, "delimiter '" + delimiter + "' must be one character, \"tab\" or \"whitespace\"");
  }
  if (encoding == "utf-8" || encoding == "utf8") {
    s->encoding = Encoding::kUtf8;
  } else if (encoding == "windows-1252" || encoding == "cp1252") {
    s->encoding = Encoding::kWindows1252;
  } else {
    return Invalid(where, "encoding '" + encoding + "' must be \"utf-8\" or \"windows-1252\"");
  }
  if (bad_rows != "fail" && bad_rows != "skip") {
    return Invalid(where, "bad_rows '" + bad_rows + "' must be \"fail\" or \"skip\"");
  }
  s->skip_bad_rows = bad_rows == "skip";
  if (!s->header && s->columns.empty()) {
    return Invalid(where, "'columns' must name the columns when 'header' is false");
  }
  if (s->header && !s->columns.empty()) {
    return Invalid(where, "'columns' is only for files without a header ('header': false)");
  }
  if (!s->timestamp.empty()) {
    Status st = data::ValidateTimestampFormat(s->timestamp_format);
    if (!st.ok()) return st.WithContext(where);
  }
  return Status::OK();
}

Status ReadFeature(size_t index, const json& j, const FeatureSpec& spec, FeatureDef* f) {
  std::string where = spec.spec_file + ": features[" + std::to_string(index) + "]";
  if (!j.is_object()) return Invalid(where, "must be an object");
  if (j.contains("name") && j.at("name").is_string()) {
    where += " '" + j.at("name").get<std::string>() + "'";
  }
  JsonConfigReader r(j, "", spec.spec_file);
  std::string agg, stat = "sum";
  double absent = NAN;
  r.Get("name", &f->name);
  r.Get("source", &f->source);
  r.Get("agg", &agg);
  r.Get("column", &f->column);
  r.Get("value", &f->value);
  r.Get("absent", &absent);
  r.Get("end_column", &f->end_column);
  r.Get("end_format", &f->end_format);
  r.Get("gap_minutes", &f->gap_minutes);
  r.Get("stat", &stat);
  json filter;  // read by ReadFilters
  r.Get("filter", &filter);
  FEDSEG_RETURN_IF_ERROR(ReadWindow(r, where, &f->window));
  Status st = r.Finish();
  if (!st.ok()) return st.WithContext(where);
  if (f->name.empty()) return Invalid(where, "'name' is required");
  const SourceSpec* src = spec.FindSource(f->source);
  if (src == nullptr)
    return Invalid(where, "source '" + f->source + "' is not declared in 'sources'");
  if (src->timestamp.empty()) {
    return Invalid(where, "source '" + f->source +
                              "' has no timestamp column; features aggregate event sources");
  }
  bool found = false;
  for (const AggName& a : kAggregations) {
    if (agg == a.name) {
      f->agg = a.agg;
      found = true;
    }
  }
  if (!found) {
    std::string names;
    for (const AggName& a : kAggregations) names += std::string(names.empty() ? "" : ", ") + a.name;
    return Invalid(where, "agg '" + agg + "' is not one of " + names);
  }
  if (NeedsColumn(f->agg) && f->column.empty()) {
    return Invalid(where,
                   std::string("'column' is required for ") + std::string(AggregationName(f->agg)));
  }
  if (!NeedsColumn(f->agg) && !f->column.empty()) {
    return Invalid(where, "'column' is not used by " + std::string(AggregationName(f->agg)));
  }
  if (f->agg == Aggregation::kShare && !j.contains("value")) {
    return Invalid(where, "'value' (the value whose share is computed) is required for share");
  }
  if (f->agg == Aggregation::kSessionDuration) {
    if (f->end_column.empty() == (f->gap_minutes <= 0)) {
      return Invalid(where,
                     "session_duration needs exactly one of 'end_column' or 'gap_minutes' > 0");
    }
    if (stat == "sum") {
      f->session_stat = SessionStat::kSum;
    } else if (stat == "mean") {
      f->session_stat = SessionStat::kMean;
    } else if (stat == "count") {
      f->session_stat = SessionStat::kCount;
    } else {
      return Invalid(where, "stat '" + stat + "' must be sum, mean or count");
    }
    if (!f->end_format.empty()) {
      st = data::ValidateTimestampFormat(f->end_format);
      if (!st.ok()) return st.WithContext(where);
    }
  } else if (!f->end_column.empty() || f->gap_minutes != 0 || j.contains("stat")) {
    return Invalid(where, "'end_column', 'gap_minutes' and 'stat' are for session_duration only");
  }
  if (!std::isnan(absent)) {
    f->absent = absent;
  } else if (AbsentIsZero(f->agg) ||
             (f->agg == Aggregation::kSessionDuration && f->session_stat != SessionStat::kMean)) {
    f->absent = 0.0;
  }
  if (f->window.end_days > 0) {
    return Invalid(where,
                   "a feature window must end at or before the reference time (end_days <= 0)");
  }
  return ReadFilters(j, where, spec.spec_file, &f->filters);
}

Status ReadLabel(const json& j, FeatureSpec* spec) {
  const std::string where = spec->spec_file + ": label";
  if (!j.is_object()) return Invalid(where, "must be an object");
  JsonConfigReader r(j, "label.", spec->spec_file);
  LabelSpec& l = spec->label;
  std::string when = "any";
  r.Get("name", &l.name);
  r.Get("column", &l.column);
  r.Get("source", &l.source);
  r.Get("when", &when);
  json filter;  // read by ReadFilters
  r.Get("filter", &filter);
  if (j.contains("source")) FEDSEG_RETURN_IF_ERROR(ReadWindow(r, where, &l.window));
  Status st = r.Finish();
  if (!st.ok()) return st;
  if (l.column.empty() && l.source.empty()) {
    return Invalid(where,
                   "give 'column' (a profile column), 'source' and 'column' (a column of an "
                   "event source, constant per user) or 'source' and 'window' (a later window)");
  }
  if (!l.column.empty() && !l.source.empty()) {
    if (j.contains("window") || j.contains("filter") || j.contains("when")) {
      return Invalid(where, "a label 'column' of an event source takes no window, filter or when");
    }
    const SourceSpec* src = spec->FindSource(l.source);
    if (src == nullptr || src->timestamp.empty()) {
      return Invalid(where, "source '" + l.source + "' is not a declared event source");
    }
    l.kind = LabelSpec::Kind::kEventColumn;
    if (l.name.empty()) l.name = l.column;
    return Status::OK();
  }
  if (!l.column.empty()) {
    l.kind = LabelSpec::Kind::kProfileColumn;
    if (spec->profile_source.empty()) return Invalid(where, "a label 'column' needs a 'profile'");
    if (l.name.empty()) l.name = l.column;
    return Status::OK();
  }
  l.kind = LabelSpec::Kind::kWindow;
  if (l.name.empty()) return Invalid(where, "'name' is required for a window label");
  const SourceSpec* src = spec->FindSource(l.source);
  if (src == nullptr || src->timestamp.empty()) {
    return Invalid(where, "source '" + l.source + "' is not a declared event source");
  }
  if (when != "any" && when != "none")
    return Invalid(where, "when '" + when + "' must be any or none");
  l.positive_when_any = when == "any";
  if (!j.contains("window")) return Invalid(where, "'window' is required for a window label");
  for (const FeatureDef& f : spec->features) {
    if (l.window.start_days < f.window.end_days) {
      return Invalid(where, "the label window starts at " + std::to_string(l.window.start_days) +
                                " days, before the end of feature '" + f.name + "' (" +
                                std::to_string(f.window.end_days) +
                                "): features and label must not overlap in time");
    }
  }
  return ReadFilters(j, where, spec->spec_file, &l.filters);
}

}  // namespace

std::string_view AggregationName(Aggregation a) {
  for (const AggName& n : kAggregations) {
    if (n.agg == a) return n.name;
  }
  return "?";
}

const SourceSpec* FeatureSpec::FindSource(std::string_view name) const {
  for (const SourceSpec& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<FeatureSpec> ParseFeatureSpec(const json& j, const std::string& spec_file,
                                     const std::string& base_dir) {
  FeatureSpec spec;
  spec.spec_file = spec_file;
  spec.json = j;
  if (!j.is_object()) return Invalid(spec_file, "a feature spec must be a JSON object");
  JsonConfigReader r(j, "", spec_file);
  json sources = json::object(), features = json::array(), label = json(), profile = json();
  r.Get("reference_time", &spec.reference_time);
  r.Get("id_column", &spec.id_column);
  r.Get("sources", &sources);
  r.Get("profile", &profile);
  r.Get("features", &features);
  r.Get("label", &label);
  FEDSEG_RETURN_IF_ERROR(r.Finish());
  if (spec.reference_time.empty()) return Invalid(spec_file, "'reference_time' is required");
  if (!data::ParseReferenceTime(spec.reference_time, &spec.reference_days)) {
    return Invalid(spec_file, "reference_time '" + spec.reference_time +
                                  "' is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS");
  }
  if (spec.id_column.empty()) return Invalid(spec_file, "'id_column' must not be empty");
  if (!sources.is_object() || sources.empty()) {
    return Invalid(spec_file, "'sources' must be an object with at least one source");
  }
  for (auto it = sources.begin(); it != sources.end(); ++it) {
    SourceSpec s;
    FEDSEG_RETURN_IF_ERROR(ReadSource(it.key(), it.value(), spec_file, base_dir, &s));
    spec.sources.push_back(std::move(s));
  }
  if (!profile.is_null()) {
    if (!profile.is_object()) return Invalid(spec_file + ": profile", "must be an object");
    JsonConfigReader pr(profile, "profile.", spec_file);
    pr.Get("source", &spec.profile_source);
    pr.Get("columns", &spec.profile_columns);
    FEDSEG_RETURN_IF_ERROR(pr.Finish());
    const SourceSpec* src = spec.FindSource(spec.profile_source);
    if (src == nullptr) {
      return Invalid(spec_file + ": profile",
                     "source '" + spec.profile_source + "' is not declared in 'sources'");
    }
    if (!src->timestamp.empty()) {
      return Invalid(spec_file + ": profile",
                     "source '" + src->name + "' has a timestamp; a profile has one row per user");
    }
  }
  for (const SourceSpec& s : spec.sources) {
    if (s.timestamp.empty() && s.name != spec.profile_source) {
      return Invalid(spec_file + ": sources." + s.name,
                     "'timestamp' is required (only the profile source has none)");
    }
  }
  if (!features.is_array() || features.empty()) {
    return Invalid(spec_file, "'features' must be a non-empty list");
  }
  std::set<std::string> names = {spec.id_column};
  for (const std::string& c : spec.profile_columns) {
    if (!names.insert(c).second)
      return Invalid(spec_file + ": profile", "column '" + c + "' repeats a name");
  }
  for (size_t i = 0; i < features.size(); ++i) {
    FeatureDef f;
    FEDSEG_RETURN_IF_ERROR(ReadFeature(i, features[i], spec, &f));
    if (!names.insert(f.name).second) {
      return Invalid(
          spec_file + ": features[" + std::to_string(i) + "]",
          "name '" + f.name + "' is already used (by the id, a profile column or a feature)");
    }
    spec.features.push_back(std::move(f));
  }
  if (!label.is_null()) {
    FEDSEG_RETURN_IF_ERROR(ReadLabel(label, &spec));
    if (spec.label.kind == LabelSpec::Kind::kWindow && names.count(spec.label.name)) {
      return Invalid(spec_file + ": label", "name '" + spec.label.name + "' is already used");
    }
    if (spec.label.kind == LabelSpec::Kind::kProfileColumn) {
      for (const std::string& c : spec.profile_columns) {
        if (c == spec.label.column) {
          return Invalid(
              spec_file + ": label",
              "column '" + c + "' is also a profile feature; the label must not be a feature");
        }
      }
    }
  }
  return spec;
}

Result<FeatureSpec> LoadFeatureSpec(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(json j, LoadJsonConfig(path));
  return ParseFeatureSpec(j, path, std::filesystem::path(path).parent_path().string());
}

}  // namespace fedseg::features

#include "common/features/feature_engine.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/data/csv.h"
#include "common/features/internal/accumulator.h"
#include "common/features/internal/record_reader.h"
#include "common/features/timestamp.h"

namespace fedseg::features {
namespace {

using internal::Accumulator;
using internal::RecordReader;

// Users by id, in order of first appearance. With a profile the set is fixed by the profile. The
// index is an open-addressing table of (user + 1, hash tag) slots at most half full: one probe of
// a flat array per row instead of a node-based map's pointer chase (the lookup dominated the
// profile of a 10 M-row log with 200,000 users).
class Users {
 public:
  int64_t Find(std::string_view id) const {
    if (slots_.empty()) return -1;
    const uint64_t h = std::hash<std::string_view>{}(id);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot s = slots_[i];
      if (s.user == 0) return -1;
      if (s.tag == tag && ids[s.user - 1] == id) return s.user - 1;
    }
  }
  // Adds a user that Find did not find.
  uint32_t Add(std::string_view id) {
    const uint32_t u = static_cast<uint32_t>(ids.size());
    ids.emplace_back(id);
    hashes_.push_back(std::hash<std::string_view>{}(id));
    history.push_back(0);
    label.emplace_back();
    label_line.push_back(0);
    if (ids.size() * 2 > slots_.size()) {
      slots_.assign(std::max<size_t>(1024, slots_.size() * 2), Slot{});
      mask_ = slots_.size() - 1;
      for (uint32_t v = 0; v < ids.size(); ++v) Insert(v);
    } else {
      Insert(u);
    }
    return u;
  }

  std::vector<std::string> ids;
  std::vector<char> history;  // has an event before the reference time
  std::vector<uint64_t> profile_line;
  std::vector<std::string> label;    // a label read from an event column
  std::vector<uint64_t> label_line;  // where it was first read

 private:
  struct Slot {
    uint32_t user = 0;  // user index + 1; 0 = empty
    uint32_t tag = 0;   // the hash's high half
  };
  void Insert(uint32_t u) {
    const uint64_t h = hashes_[u];
    size_t i = h & mask_;
    while (slots_[i].user != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{u + 1, static_cast<uint32_t>(h >> 32)};
  }
  std::vector<Slot> slots_;
  std::vector<uint64_t> hashes_;
  size_t mask_ = 0;
};

struct CompiledFilter {
  int field = -1;
  int slot = -1;  // numeric filters: index into the row's parsed numbers
  const Filter* def = nullptr;
};

// A feature, or the window label (def == nullptr), bound to its source's columns.
struct Target {
  const FeatureDef* def = nullptr;
  std::string where;  // "features[2] 'sales_sum'" or "label"
  Window window;
  std::vector<CompiledFilter> filters;
  int slot = -1;        // numeric aggregations: parsed value
  int text_field = -1;  // share, distinct_count: the raw field
  int end_field = -1;   // session_duration with an end column
  std::string end_format;
  bool keeps_set = false;
  std::vector<Accumulator> acc;
  std::vector<std::vector<uint64_t>> sets;
  FeatureReport report;
};

struct Header {
  std::vector<std::string> names;
  std::unordered_map<std::string, int> index;
};

Result<Header> ReadHeader(const SourceSpec& s, RecordReader& reader,
                          std::vector<std::string_view>& fields) {
  Header h;
  if (s.header) {
    FEDSEG_ASSIGN_OR_RETURN(bool got, reader.Next(&fields));
    if (!got)
      return Status::InvalidArgument(s.path + ": the file is empty (sources." + s.name +
                                     " expects a header row)");
    for (std::string_view f : fields) h.names.emplace_back(data::TrimWhitespace(f));
  } else {
    h.names = s.columns;
  }
  for (size_t i = 0; i < h.names.size(); ++i) h.index.emplace(h.names[i], static_cast<int>(i));
  return h;
}

Result<int> Column(const Header& h, const std::string& name, const SourceSpec& s,
                   const std::string& spec_file, const std::string& where) {
  auto it = h.index.find(name);
  if (it != h.index.end()) return it->second;
  std::string list;
  for (const std::string& n : h.names) list += (list.empty() ? "" : ", ") + n;
  return Status::InvalidArgument(spec_file + ": " + where + ": column '" + name +
                                 "' is not in source '" + s.name + "' (" + s.path +
                                 "); its columns are: " + list);
}

bool PassesFilters(const std::vector<CompiledFilter>& filters,
                   const std::vector<std::string_view>& fields, const std::vector<double>& nums) {
  for (const CompiledFilter& cf : filters) {
    const Filter& f = *cf.def;
    if (cf.slot >= 0) {
      const double x = nums[cf.slot];
      if (std::isnan(x)) return false;
      bool ok = false;
      switch (f.op) {
        case FilterOp::kEq:
          ok = x == f.number;
          break;
        case FilterOp::kNe:
          ok = x != f.number;
          break;
        case FilterOp::kLt:
          ok = x < f.number;
          break;
        case FilterOp::kLe:
          ok = x <= f.number;
          break;
        case FilterOp::kGt:
          ok = x > f.number;
          break;
        case FilterOp::kGe:
          ok = x >= f.number;
          break;
      }
      if (!ok) return false;
    } else {
      const bool eq = data::TrimWhitespace(fields[cf.field]) == f.value;
      if (eq != (f.op == FilterOp::kEq)) return false;
    }
  }
  return true;
}

// One pass over one event source, feeding every target bound to it.
class SourcePass {
 public:
  SourcePass(const FeatureSpec& spec, const SourceSpec& src, Users& users, bool fixed_users,
             SourceReport& report)
      : spec_(spec), src_(src), users_(users), fixed_users_(fixed_users), report_(report) {}

  Status Bind(std::vector<Target*> targets) {
    targets_ = std::move(targets);
    FEDSEG_ASSIGN_OR_RETURN(reader_, RecordReader::Open(src_.path, src_.delimiter, src_.encoding));
    FEDSEG_ASSIGN_OR_RETURN(header_, ReadHeader(src_, *reader_, fields_));
    const std::string swhere = "sources." + src_.name;
    FEDSEG_ASSIGN_OR_RETURN(
        user_field_, Column(header_, src_.user_id, src_, spec_.spec_file, swhere + ".user_id"));
    FEDSEG_ASSIGN_OR_RETURN(
        time_field_, Column(header_, src_.timestamp, src_, spec_.spec_file, swhere + ".timestamp"));
    if (spec_.label.kind == LabelSpec::Kind::kEventColumn && spec_.label.source == src_.name) {
      FEDSEG_ASSIGN_OR_RETURN(
          label_field_, Column(header_, spec_.label.column, src_, spec_.spec_file, "label.column"));
    }
    for (Target* t : targets_) {
      for (CompiledFilter& cf : t->filters) {
        FEDSEG_ASSIGN_OR_RETURN(cf.field,
                                Column(header_, cf.def->column, src_, spec_.spec_file, t->where));
        if (cf.def->numeric) cf.slot = Slot(cf.field);
      }
      if (t->def == nullptr) continue;
      const FeatureDef& f = *t->def;
      if (!f.column.empty()) {
        FEDSEG_ASSIGN_OR_RETURN(int field,
                                Column(header_, f.column, src_, spec_.spec_file, t->where));
        if (f.agg == Aggregation::kShare || f.agg == Aggregation::kDistinctCount) {
          t->text_field = field;
        } else {
          t->slot = Slot(field);
        }
      }
      if (!f.end_column.empty()) {
        FEDSEG_ASSIGN_OR_RETURN(t->end_field,
                                Column(header_, f.end_column, src_, spec_.spec_file, t->where));
        t->end_format = f.end_format.empty() ? src_.timestamp_format : f.end_format;
      }
    }
    return Status::OK();
  }

  Status Run() {
    std::vector<double> nums(slot_fields_.size());
    int64_t last_user = -1;
    std::string last_id;
    for (;;) {
      FEDSEG_ASSIGN_OR_RETURN(bool got, reader_->Next(&fields_));
      if (!got) break;
      ++report_.rows;
      if (fields_.size() != header_.names.size()) {
        FEDSEG_RETURN_IF_ERROR(Bad("wrong_field_count", std::to_string(fields_.size()) +
                                                            " fields, the header has " +
                                                            std::to_string(header_.names.size())));
        continue;
      }
      const std::string_view id = data::TrimWhitespace(fields_[user_field_]);
      if (data::IsMissingValue(id)) {
        FEDSEG_RETURN_IF_ERROR(
            Bad("missing_user_id", "the user id (column '" + src_.user_id + "') is empty"));
        continue;
      }
      double t = 0;
      if (!ParseTimestamp(fields_[time_field_], src_.timestamp_format, &t)) {
        FEDSEG_RETURN_IF_ERROR(
            Bad("bad_timestamp", "timestamp " + data::QuoteForMessage(fields_[time_field_]) +
                                     " (column '" + src_.timestamp + "') does not match format '" +
                                     src_.timestamp_format + "'"));
        continue;
      }
      bool bad = false;
      for (size_t k = 0; k < slot_fields_.size() && !bad; ++k) {
        const std::string_view cell = fields_[slot_fields_[k]];
        if (data::ParseNumber(cell, &nums[k])) continue;
        nums[k] = std::numeric_limits<double>::quiet_NaN();
        if (!data::IsMissingValue(cell)) {
          FEDSEG_RETURN_IF_ERROR(Bad("bad_number", "column '" + header_.names[slot_fields_[k]] +
                                                       "' holds " + data::QuoteForMessage(cell) +
                                                       ", not a number"));
          bad = true;
        }
      }
      if (bad) continue;
      int64_t u = last_user;
      if (u < 0 || id != last_id) {
        u = users_.Find(id);
        if (u < 0 && !fixed_users_) u = users_.Add(id);
        last_user = u;
        last_id.assign(id);
      }
      if (u < 0) {
        ++report_.skipped["user_not_in_profile"];
        continue;
      }
      if (t < spec_.reference_days) users_.history[u] = 1;
      if (label_field_ >= 0) FEDSEG_RETURN_IF_ERROR(ReadEventLabel(static_cast<size_t>(u)));
      bool used = false;
      const size_t width = targets_.size();
      if (acc_.size() <= static_cast<size_t>(u) * width) acc_.resize(users_.ids.size() * width);
      Accumulator* row = &acc_[static_cast<size_t>(u) * width];
      for (size_t k = 0; k < width; ++k) {
        Target* tg = targets_[k];
        if (!tg->window.Contains(t, spec_.reference_days)) continue;
        if (!PassesFilters(tg->filters, fields_, nums)) continue;
        FEDSEG_ASSIGN_OR_RETURN(bool took, Update(*tg, row[k], static_cast<size_t>(u), t, nums));
        used |= took;
      }
      if (used) {
        ++report_.used;
      } else {
        ++report_.skipped["not_selected"];
      }
    }
    // Hand each target its column of the user-major block.
    for (size_t k = 0; k < targets_.size(); ++k) {
      std::vector<Accumulator>& out = targets_[k]->acc;
      out.assign(users_.ids.size(), Accumulator{});
      for (size_t u = 0; u * targets_.size() < acc_.size(); ++u)
        out[u] = acc_[u * targets_.size() + k];
    }
    acc_.clear();
    acc_.shrink_to_fit();
    return Status::OK();
  }

 private:
  // A label column of an event source must hold one value per user.
  Status ReadEventLabel(size_t u) {
    const std::string_view v = data::TrimWhitespace(fields_[label_field_]);
    if (users_.label_line[u] == 0) {
      users_.label[u].assign(v);
      users_.label_line[u] = reader_->line();
    } else if (users_.label[u] != v) {
      return Status::InvalidArgument(
          src_.path + ":" + std::to_string(reader_->line()) + ": user " +
          data::QuoteForMessage(users_.ids[u]) + " has label " + spec_.label.column + " = " +
          data::QuoteForMessage(v) + " here but " + data::QuoteForMessage(users_.label[u]) +
          " on line " + std::to_string(users_.label_line[u]) + " (" + spec_.spec_file +
          ": label: a label column of an event source must be constant per user)");
    }
    return Status::OK();
  }

  int Slot(int field) {
    for (size_t k = 0; k < slot_fields_.size(); ++k) {
      if (slot_fields_[k] == field) return static_cast<int>(k);
    }
    slot_fields_.push_back(field);
    return static_cast<int>(slot_fields_.size() - 1);
  }

  Status Bad(const char* reason, const std::string& what) {
    if (src_.skip_bad_rows) {
      ++report_.skipped[reason];
      return Status::OK();
    }
    return Status::InvalidArgument(src_.path + ":" + std::to_string(reader_->line()) + ": " + what +
                                   " (sources." + src_.name + " in " + spec_.spec_file +
                                   "; \"bad_rows\": \"skip\" skips and counts such rows)");
  }

  Result<bool> Update(Target& tg, Accumulator& a, size_t u, double t,
                      const std::vector<double>& nums) {
    if (tg.keeps_set && tg.sets.size() <= u) tg.sets.resize(users_.ids.size());
    if (tg.def == nullptr) {  // the label: only whether there are events
      a.AddTime(t);
      ++tg.report.events;
      return true;
    }
    const FeatureDef& f = *tg.def;
    switch (f.agg) {
      case Aggregation::kSum:
      case Aggregation::kMean:
      case Aggregation::kMin:
      case Aggregation::kMax:
      case Aggregation::kStddev:
        if (std::isnan(nums[tg.slot])) {
          ++tg.report.missing_values;
          return false;
        }
        a.AddTime(t);
        a.AddValue(nums[tg.slot]);
        break;
      case Aggregation::kDistinctCount: {
        const std::string_view v = data::TrimWhitespace(fields_[tg.text_field]);
        if (data::IsMissingValue(v)) {
          ++tg.report.missing_values;
          return false;
        }
        a.AddTime(t);
        internal::InsertDistinct(&tg.sets[u], std::hash<std::string_view>{}(v));
        break;
      }
      case Aggregation::kShare:
        a.AddTime(t);
        if (data::TrimWhitespace(fields_[tg.text_field]) == f.value) ++a.matches;
        break;
      case Aggregation::kEventsPerActiveDay:
        a.AddTime(t);
        internal::InsertDistinct(&tg.sets[u],
                                 static_cast<uint64_t>(static_cast<int64_t>(std::floor(t))));
        break;
      case Aggregation::kSessionDuration:
        if (tg.end_field >= 0) {
          double end = 0;
          if (!ParseTimestamp(fields_[tg.end_field], tg.end_format, &end)) {
            FEDSEG_RETURN_IF_ERROR(
                Bad("bad_timestamp", "session end " + data::QuoteForMessage(fields_[tg.end_field]) +
                                         " does not match format '" + tg.end_format + "' (" +
                                         tg.where + ")"));
            return false;
          }
          if (end < t) {
            FEDSEG_RETURN_IF_ERROR(
                Bad("bad_timestamp", "the session ends before it starts (" + tg.where + ")"));
            return false;
          }
          a.AddTime(t);
          a.AddValue((end - t) * 24 * 60);
        } else {
          if (a.n == 0) {
            a.session_start = t;
          } else if (t < a.last) {
            return Status::InvalidArgument(
                src_.path + ":" + std::to_string(reader_->line()) + ": " + spec_.spec_file + ": " +
                tg.where + ": user " + data::QuoteForMessage(users_.ids[u]) +
                " has an event earlier than the previous one; sessions from gaps need each "
                "user's events in time order (sort the file by user and time)");
          } else if ((t - a.last) * 24 * 60 > f.gap_minutes) {
            a.session_total += (a.last - a.session_start) * 24 * 60;
            ++a.sessions;
            a.session_start = t;
          }
          a.AddTime(t);
        }
        break;
      case Aggregation::kCount:
      case Aggregation::kRecency:
      case Aggregation::kTenure:
        a.AddTime(t);
        break;
    }
    ++tg.report.events;
    return true;
  }

  const FeatureSpec& spec_;
  const SourceSpec& src_;
  Users& users_;
  bool fixed_users_;
  SourceReport& report_;
  std::vector<Target*> targets_;
  std::unique_ptr<RecordReader> reader_;
  Header header_;
  std::vector<std::string_view> fields_;
  int user_field_ = -1, time_field_ = -1, label_field_ = -1;
  std::vector<int> slot_fields_;
  // Accumulators of every user, user-major (a row's targets are adjacent in memory).
  std::vector<Accumulator> acc_;
};

// Reads the profile: one row per user (a repeated id would multiply rows in the join: an error).
Status ReadProfile(const FeatureSpec& spec, const SourceSpec& src, Users& users,
                   std::vector<std::vector<std::string>>& columns, std::vector<std::string>& labels,
                   SourceReport& report) {
  FEDSEG_ASSIGN_OR_RETURN(auto reader, RecordReader::Open(src.path, src.delimiter, src.encoding));
  std::vector<std::string_view> fields;
  FEDSEG_ASSIGN_OR_RETURN(Header h, ReadHeader(src, *reader, fields));
  const std::string where = "sources." + src.name;
  FEDSEG_ASSIGN_OR_RETURN(int uid, Column(h, src.user_id, src, spec.spec_file, where + ".user_id"));
  std::vector<int> cols;
  for (const std::string& c : spec.profile_columns) {
    FEDSEG_ASSIGN_OR_RETURN(int i, Column(h, c, src, spec.spec_file, "profile.columns"));
    cols.push_back(i);
  }
  int label_field = -1;
  if (spec.label.kind == LabelSpec::Kind::kProfileColumn) {
    FEDSEG_ASSIGN_OR_RETURN(label_field,
                            Column(h, spec.label.column, src, spec.spec_file, "label.column"));
  }
  columns.assign(cols.size(), {});
  for (;;) {
    FEDSEG_ASSIGN_OR_RETURN(bool got, reader->Next(&fields));
    if (!got) break;
    ++report.rows;
    const std::string at = src.path + ":" + std::to_string(reader->line()) + ": ";
    if (fields.size() != h.names.size()) {
      return Status::InvalidArgument(at + std::to_string(fields.size()) +
                                     " fields, the header has " + std::to_string(h.names.size()) +
                                     " (" + where + ")");
    }
    const std::string_view id = data::TrimWhitespace(fields[uid]);
    if (data::IsMissingValue(id)) {
      return Status::InvalidArgument(at + "the user id (column '" + src.user_id + "') is empty (" +
                                     where + ")");
    }
    const int64_t seen = users.Find(id);
    if (seen >= 0) {
      return Status::InvalidArgument(
          at + "user " + data::QuoteForMessage(id) + " already appeared on line " +
          std::to_string(users.profile_line[seen]) +
          ": the profile must have one row per user, or the join would multiply rows (" + where +
          ")");
    }
    users.Add(id);
    users.history.back() = 1;
    users.profile_line.push_back(reader->line());
    for (size_t k = 0; k < cols.size(); ++k)
      columns[k].emplace_back(data::TrimWhitespace(fields[cols[k]]));
    if (label_field >= 0) labels.emplace_back(data::TrimWhitespace(fields[label_field]));
    ++report.used;
  }
  if (users.ids.empty())
    return Status::InvalidArgument(src.path + ": the profile has no rows (" + where + ")");
  return Status::OK();
}

std::string WindowText(const Window& w) {
  auto num = [](double d) {
    return std::isinf(d) ? std::string("-inf") : nlohmann::json(d).dump();
  };
  return "[" + num(w.start_days) + ", " + num(w.end_days) + ") days";
}

}  // namespace

Result<FeatureTable> ComputeFeatures(const FeatureSpec& spec) {
  FeatureTable out;
  out.id_column = spec.id_column;
  Users users;
  std::vector<std::vector<std::string>> profile_columns;
  std::vector<std::string> profile_labels;

  std::vector<Target> targets(spec.features.size() + 1);
  for (size_t i = 0; i < spec.features.size(); ++i) {
    const FeatureDef& f = spec.features[i];
    Target& t = targets[i];
    t.def = &f;
    t.where = "features[" + std::to_string(i) + "] '" + f.name + "'";
    t.window = f.window;
    for (const Filter& fl : f.filters) t.filters.push_back({-1, -1, &fl});
    t.keeps_set = f.agg == Aggregation::kDistinctCount || f.agg == Aggregation::kEventsPerActiveDay;
    t.report.name = f.name;
  }
  Target& label = targets.back();
  label.where = "label";
  label.window = spec.label.window;
  for (const Filter& fl : spec.label.filters) label.filters.push_back({-1, -1, &fl});
  label.report.name = spec.label.name;

  for (const SourceSpec& src : spec.sources) {
    SourceReport& report = out.sources.emplace_back();
    report.name = src.name;
    report.path = src.path;
    if (src.name != spec.profile_source) continue;
    FEDSEG_RETURN_IF_ERROR(ReadProfile(spec, src, users, profile_columns, profile_labels, report));
  }
  const bool fixed_users = !spec.profile_source.empty();
  for (size_t s = 0; s < spec.sources.size(); ++s) {
    const SourceSpec& src = spec.sources[s];
    if (src.name == spec.profile_source) continue;
    std::vector<Target*> bound;
    for (size_t i = 0; i < spec.features.size(); ++i) {
      if (spec.features[i].source == src.name) bound.push_back(&targets[i]);
    }
    if (spec.label.kind == LabelSpec::Kind::kWindow && spec.label.source == src.name)
      bound.push_back(&label);
    const bool label_source =
        spec.label.kind == LabelSpec::Kind::kEventColumn && spec.label.source == src.name;
    if (bound.empty() && !label_source) continue;
    SourcePass pass(spec, src, users, fixed_users, out.sources[s]);
    FEDSEG_RETURN_IF_ERROR(pass.Bind(bound));
    FEDSEG_RETURN_IF_ERROR(pass.Run());
  }

  // An empty window is an error, never a column of zeros.
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    if (t.def == nullptr && spec.label.kind != LabelSpec::Kind::kWindow) continue;
    if (t.report.events > 0) continue;
    const std::string& source = t.def ? t.def->source : spec.label.source;
    const SourceReport* rep = nullptr;
    for (const SourceReport& r : out.sources) {
      if (r.name == source) rep = &r;
    }
    return Status::InvalidArgument(
        spec.spec_file + ": " + t.where + ": no event of source '" + source + "' (" +
        (rep ? rep->path + ", " + std::to_string(rep->rows) + " rows" : std::string()) +
        ") falls in its window " + WindowText(t.window) + " around reference_time " +
        spec.reference_time + (t.filters.empty() ? "" : " and passes its filter") +
        "; check the window, the filter values and the reference time");
  }

  std::vector<uint32_t> rows;
  for (uint32_t u = 0; u < users.ids.size(); ++u) {
    if (users.history[u]) {
      rows.push_back(u);
    } else {
      ++out.users_without_history;
    }
  }
  if (rows.empty()) {
    return Status::InvalidArgument(
        spec.spec_file + ": no user has an event before reference_time " + spec.reference_time);
  }
  for (uint32_t u : rows) out.ids.push_back(users.ids[u]);
  for (size_t k = 0; k < spec.profile_columns.size(); ++k) {
    FeatureColumn c;
    c.name = spec.profile_columns[k];
    c.text = true;
    for (uint32_t u : rows) c.texts.push_back(profile_columns[k][u]);
    out.columns.push_back(std::move(c));
  }
  for (size_t i = 0; i < spec.features.size(); ++i) {
    Target& t = targets[i];
    t.acc.resize(users.ids.size());
    if (t.keeps_set) t.sets.resize(users.ids.size());
    FeatureColumn c;
    c.name = t.def->name;
    c.numbers.reserve(rows.size());
    for (uint32_t u : rows) {
      if (t.acc[u].n == 0) ++t.report.absent_users;
      c.numbers.push_back(internal::FinishFeature(
          *t.def, t.acc[u], t.keeps_set ? t.sets[u].size() : 0, spec.reference_days));
    }
    out.columns.push_back(std::move(c));
    out.features.push_back(t.report);
  }
  if (spec.label.kind == LabelSpec::Kind::kProfileColumn) {
    out.label_name = spec.label.name;
    for (uint32_t u : rows) out.labels.push_back(profile_labels[u]);
  } else if (spec.label.kind == LabelSpec::Kind::kEventColumn) {
    out.label_name = spec.label.name;
    for (uint32_t u : rows) out.labels.push_back(users.label[u]);
  } else if (spec.label.kind == LabelSpec::Kind::kWindow) {
    out.label_name = spec.label.name;
    label.acc.resize(users.ids.size());
    for (uint32_t u : rows) {
      const bool any = label.acc[u].n > 0;
      out.labels.push_back(any == spec.label.positive_when_any ? "1" : "0");
    }
  }
  return out;
}

}  // namespace fedseg::features

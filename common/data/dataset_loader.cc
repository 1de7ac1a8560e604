#include "common/data/dataset_loader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/data/timestamp.h"

namespace fedseg::data {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Quote(std::string_view v) { return QuoteForMessage(v); }

std::string ListColumns(const std::vector<std::string>& header) {
  constexpr size_t kMaxListed = 60;  // keep messages readable on very wide tables
  std::string out;
  for (size_t i = 0; i < header.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += header[i];
  }
  if (header.size() > kMaxListed) {
    out += ", ... (" + std::to_string(header.size() - kMaxListed) + " more)";
  }
  return out;
}

// true/false/yes/no in any case. 0/1 deliberately stay numeric.
bool ParseBool(std::string_view v, bool* out) {
  if (EqualsIgnoreCase(v, "true") || EqualsIgnoreCase(v, "yes")) {
    *out = true;
    return true;
  }
  if (EqualsIgnoreCase(v, "false") || EqualsIgnoreCase(v, "no")) {
    *out = false;
    return true;
  }
  return false;
}

// A uniform integer in [0, n) from raw generator output by rejection, so the sequence does not
// depend on the standard library's distribution implementation.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: values below it would bias the result
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

// Resolves the caller's column names against the header once, so every list is checked the same
// way and reports the same message.
class ColumnIndex {
 public:
  explicit ColumnIndex(const CsvTable& table) : table_(table) {
    for (size_t i = 0; i < table.header.size(); ++i) index_.emplace(table.header[i], i);
  }

  std::optional<size_t> Find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  // `given_as` says where the name came from: "label", "categorical", ...
  Status Unknown(std::string_view given_as, std::string_view name) const {
    return Status::NotFound(table_.source + ": unknown column " + Quote(name) + " (given as " +
                            std::string(given_as) +
                            "); columns are: " + ListColumns(table_.header));
  }

 private:
  const CsvTable& table_;
  std::unordered_map<std::string, size_t> index_;
};

struct Roles {
  std::optional<size_t> label;
  std::optional<size_t> id;
  std::vector<std::optional<ColumnType>> forced;  // per table column
  std::vector<bool> dropped;                      // per table column
  std::vector<std::optional<std::string>> dates;  // per table column: a declared date's format
  std::vector<size_t> features;                   // table columns, in output order
};

Status ResolveRoles(const CsvTable& table, const LoadOptions& o, Roles* roles) {
  const ColumnIndex columns(table);
  const std::string& src = table.source;
  const size_t width = table.header.size();

  if (o.label.empty()) {
    if (!o.label_optional) {
      return Status::InvalidArgument(
          src + ": no label column given; columns are: " + ListColumns(table.header));
    }
  } else {
    roles->label = columns.Find(o.label);
    if (!roles->label && !o.label_optional) return columns.Unknown("label", o.label);
  }
  if (!o.id_column.empty()) {
    roles->id = columns.Find(o.id_column);
    if (!roles->id) return columns.Unknown("id_column", o.id_column);
    if (roles->label == roles->id) {
      return Status::InvalidArgument(src + ": column " + Quote(o.id_column) +
                                     " cannot be both the label and the id column");
    }
  }

  // Every name in a feature list must exist and must not be the label or the id.
  auto check = [&](std::string_view list, const std::string& name) -> Result<size_t> {
    const std::optional<size_t> c = columns.Find(name);
    if (!c) return columns.Unknown(list, name);
    if (c == roles->label || c == roles->id) {
      return Status::InvalidArgument(src + ": column " + Quote(name) + " is the " +
                                     (c == roles->label ? "label" : "id") +
                                     " column and cannot be listed in " + std::string(list));
    }
    return *c;
  };

  // A model (or the federation's schema) lists the features it needs: say which the file lacks
  // before anything else refers to them.
  std::string absent;
  for (const std::string& name : o.feature_columns) {
    if (columns.Find(name)) continue;
    absent += absent.empty() ? "" : ", ";
    absent += Quote(name);
  }
  if (!absent.empty()) {
    return Status::NotFound(src + ": the model needs column(s) " + absent +
                            ", which the file lacks; columns are: " + ListColumns(table.header));
  }

  roles->forced.assign(width, std::nullopt);
  roles->dropped.assign(width, false);
  auto force = [&](std::string_view list, const std::string& name, ColumnType t) -> Status {
    FEDSEG_ASSIGN_OR_RETURN(const size_t c, check(list, name));
    std::optional<ColumnType>& slot = roles->forced[c];
    if (slot && *slot != t) {
      return Status::InvalidArgument(src + ": column " + Quote(name) + " is forced to be both " +
                                     std::string(ColumnTypeName(*slot)) + " and " +
                                     std::string(ColumnTypeName(t)));
    }
    slot = t;
    return Status::OK();
  };
  for (const std::string& name : o.categorical) {
    FEDSEG_RETURN_IF_ERROR(force("categorical", name, ColumnType::kCategorical));
  }
  for (const std::string& name : o.numeric) {
    FEDSEG_RETURN_IF_ERROR(force("numeric", name, ColumnType::kNumeric));
  }
  for (const auto& [name, type] : o.types) {
    FEDSEG_RETURN_IF_ERROR(force("types", name, type));
  }
  for (const std::string& name : o.drop) {
    FEDSEG_ASSIGN_OR_RETURN(const size_t c, check("drop", name));
    if (roles->forced[c]) {
      return Status::InvalidArgument(src + ": column " + Quote(name) +
                                     " is dropped but also given a type");
    }
    roles->dropped[c] = true;
  }

  roles->dates.assign(width, std::nullopt);
  for (const auto& [name, format] : o.dates) {
    FEDSEG_ASSIGN_OR_RETURN(const size_t c, check("dates", name));
    if (roles->forced[c]) {
      return Status::InvalidArgument(src + ": column " + Quote(name) + " is declared a date but " +
                                     "also given the type " +
                                     std::string(ColumnTypeName(*roles->forced[c])));
    }
    if (roles->dropped[c]) {
      return Status::InvalidArgument(src + ": column " + Quote(name) +
                                     " is declared a date but also dropped");
    }
    if (!format.empty()) {
      Status st = ValidateTimestampFormat(format);
      if (!st.ok()) {
        return Status::InvalidArgument(src + ": date format of column " + Quote(name) + ": " +
                                       st.message());
      }
    }
    roles->dates[c] = format;
  }
  for (const std::string& name : o.log_columns) {
    FEDSEG_ASSIGN_OR_RETURN(const size_t c, check("log", name));
    if (roles->dropped[c]) {
      return Status::InvalidArgument(src + ": column " + Quote(name) +
                                     " is declared log-transformed but also dropped");
    }
    if (roles->dates[c]) {
      return Status::InvalidArgument(src + ": column " + Quote(name) +
                                     " is declared both a date and log-transformed");
    }
    if (roles->forced[c] && *roles->forced[c] != ColumnType::kNumeric) {
      return Status::InvalidArgument(src + ": column " + Quote(name) +
                                     " is declared log-transformed but given the type " +
                                     std::string(ColumnTypeName(*roles->forced[c])));
    }
  }

  roles->features.clear();
  if (!o.feature_columns.empty()) {
    std::vector<bool> listed(width, false);
    for (const std::string& name : o.feature_columns) {
      const std::optional<size_t> c = columns.Find(name);
      FEDSEG_RETURN_IF_ERROR(check("feature_columns", name).status());
      if (listed[*c]) {
        return Status::InvalidArgument(src + ": feature column " + Quote(name) +
                                       " is listed twice");
      }
      if (roles->dropped[*c]) {
        return Status::InvalidArgument(src + ": feature column " + Quote(name) +
                                       " is also listed in drop");
      }
      listed[*c] = true;
      roles->features.push_back(*c);
    }
  } else {
    for (size_t c = 0; c < width; ++c) {
      if (c != roles->label && c != roles->id && !roles->dropped[c]) roles->features.push_back(c);
    }
  }
  return Status::OK();
}

// The formats date detection tries, in this order; the first that reads every value wins. Where
// day and month could be swapped, the usual reading of the separator comes first (month first
// with '/', as in the US; day first with '-' and '.'), and `swapped` names the other reading,
// which a column whose days are all 12 or less would also fit.
struct DateCandidate {
  std::string_view format;
  std::string_view swapped;
};
constexpr DateCandidate kDateCandidates[] = {
    {"%Y-%m-%d", ""},
    {"%Y-%m-%d %H:%M:%S", ""},
    {"%Y-%m-%d %H:%M", ""},
    {"%Y-%m-%dT%H:%M:%S", ""},
    {"%Y-%m-%dT%H:%M:%SZ", ""},
    {"%Y/%m/%d", ""},
    {"%Y/%m/%d %H:%M:%S", ""},
    {"%m/%d/%Y", "%d/%m/%Y"},
    {"%d/%m/%Y", "%m/%d/%Y"},
    {"%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"},
    {"%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"},
    {"%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"},
    {"%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"},
    {"%d-%m-%Y", "%m-%d-%Y"},
    {"%m-%d-%Y", "%d-%m-%Y"},
    {"%d-%m-%Y %H:%M", "%m-%d-%Y %H:%M"},
    {"%m-%d-%Y %H:%M", "%d-%m-%Y %H:%M"},
    {"%d-%m-%Y %H:%M:%S", "%m-%d-%Y %H:%M:%S"},
    {"%m-%d-%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S"},
    {"%d.%m.%Y", "%m.%d.%Y"},
    {"%d.%m.%Y %H:%M", "%m.%d.%Y %H:%M"},
    {"%d.%m.%Y %H:%M:%S", "%m.%d.%Y %H:%M:%S"},
};

bool AllParse(const std::vector<std::string_view>& values, std::string_view format) {
  double days = 0;
  for (std::string_view v : values) {
    if (!ParseTimestamp(v, format, &days)) return false;
  }
  return true;
}

struct DetectedDate {
  std::string format;
  bool ambiguous = false;  // the swapped day/month reading fits every value too
};

// The first candidate format that reads every (present, trimmed) value, if any.
std::optional<DetectedDate> DetectDateFormat(const std::vector<std::string_view>& values) {
  if (values.empty()) return std::nullopt;
  // Every candidate starts with a digit: anything else is not a date, without trying 22 formats.
  for (std::string_view v : values) {
    if (v.empty() || !std::isdigit(static_cast<unsigned char>(v.front()))) return std::nullopt;
  }
  for (const DateCandidate& c : kDateCandidates) {
    if (!AllParse(values, c.format)) continue;
    DetectedDate d;
    d.format = std::string(c.format);
    d.ambiguous = !c.swapped.empty() && AllParse(values, c.swapped);
    return d;
  }
  return std::nullopt;
}

// Days since 1970-01-01 of 0000-01-01 and 10000-01-01.
constexpr double kMinDateDays = -719528, kMaxDateDays = 2932897;

constexpr std::string_view kMonthNames[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kWeekdayNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// Reads table column `c` as dates in `format` into its three derived columns (DatePart), appended
// to d->features. A value the format does not read is an error at its file:line:column.
Status LoadDateColumn(const CsvTable& table, size_t c, const std::string& format,
                      const std::vector<size_t>& kept, RawDataset* d) {
  const std::string& name = table.header[c];
  RawColumn days, month, weekday;
  days.name = DatePartName(name, DatePart::kDays);
  days.type = ColumnType::kNumeric;
  month.name = DatePartName(name, DatePart::kMonth);
  month.type = ColumnType::kCategorical;
  weekday.name = DatePartName(name, DatePart::kWeekday);
  weekday.type = ColumnType::kCategorical;
  for (RawColumn* col : {&days, &month, &weekday}) {
    if (std::find(table.header.begin(), table.header.end(), col->name) != table.header.end()) {
      return Status::InvalidArgument(table.source + ": column " + Quote(name) +
                                     " is read as dates, whose derived column " + Quote(col->name) +
                                     " is already a column of the table; rename one of them");
    }
  }
  const size_t n = kept.size();
  days.numeric.reserve(n);
  month.text.reserve(n);
  weekday.text.reserve(n);
  for (size_t r : kept) {
    const std::string_view v = TrimWhitespace(table.rows[r][c]);
    double x = kNaN;
    if (IsMissingValue(v)) {
      days.numeric.push_back(kNaN);
      month.text.emplace_back(kMissingCategory);
      weekday.text.emplace_back(kMissingCategory);
      continue;
    }
    if (!ParseTimestamp(v, format, &x)) {
      return Status::InvalidArgument(table.Where(r, c) + ": column " + Quote(name) +
                                     " holds dates in the format " + Quote(format) + " but value " +
                                     Quote(v) + " is not one");
    }
    // Years 0-9999 only ("unix" seconds may be any number): the day must fit an int64 and a civil
    // date.
    if (!(x >= kMinDateDays && x < kMaxDateDays)) {
      return Status::InvalidArgument(table.Where(r, c) + ": column " + Quote(name) + " has date " +
                                     Quote(v) + ", outside the years 0 to 9999");
    }
    const auto day = static_cast<int64_t>(std::floor(x));
    days.numeric.push_back(x);
    month.text.emplace_back(kMonthNames[CivilFromDays(day).month - 1]);
    weekday.text.emplace_back(kWeekdayNames[WeekdayFromDays(day)]);
  }
  days.missing = month.missing = weekday.missing = static_cast<uint64_t>(std::count_if(
      days.numeric.begin(), days.numeric.end(), [](double x) { return std::isnan(x); }));
  d->date_formats[name] = format;
  d->features.push_back(std::move(days));
  d->features.push_back(std::move(month));
  d->features.push_back(std::move(weekday));
  return Status::OK();
}

// Fills `col` from table column `c` over the kept rows. `forced` or else inference decides the
// type; cells that contradict a forced type are reported at their file:line:column.
Status CheckMagnitude(const CsvTable& table, size_t r, size_t c, const std::string& name,
                      std::string_view text, double x) {
  if (std::fabs(x) <= kMaxAbsFeatureValue) return Status::OK();
  return Status::InvalidArgument(table.Where(r, c) + ": column " + Quote(name) + " has value " +
                                 Quote(text) +
                                 ", beyond the largest magnitude a feature may have (" +
                                 "1e15); is it in the wrong unit, or an identifier?");
}

// Appends table column `c`, over the kept rows, to d->features: one column, or a date's three.
// A declared date format, a forced type, or else inference decides; cells that contradict a forced
// type are reported at their file:line:column.
Status LoadColumn(const CsvTable& table, size_t c, const Roles& roles, const LoadOptions& o,
                  const std::vector<size_t>& kept, RawDataset* d) {
  const std::string& name = table.header[c];
  if (roles.dates[c]) {
    std::string format = *roles.dates[c];
    if (format.empty()) {
      std::vector<std::string_view> present;
      for (size_t r : kept) {
        const std::string_view v = TrimWhitespace(table.rows[r][c]);
        if (!IsMissingValue(v)) present.push_back(v);
      }
      const std::optional<DetectedDate> found = DetectDateFormat(present);
      if (!found) {
        return Status::InvalidArgument(
            table.source + ": column " + Quote(name) +
            " is declared a date, but no usual date format reads all its values; give its format "
            "(e.g. %d-%m-%Y)");
      }
      format = found->format;
      d->notes.push_back(DateNote(name, format));
    }
    return LoadDateColumn(table, c, format, kept, d);
  }
  d->features.emplace_back();
  RawColumn* col = &d->features.back();
  col->name = name;
  const size_t n = kept.size();
  std::optional<ColumnType> type = roles.forced[c];
  if (!type) {
    // One pass decides the type and keeps the parsed numbers in case the column is numeric.
    bool maybe_bool = true;
    bool maybe_numeric = true;
    uint64_t present = 0;
    uint64_t missing = 0;
    std::vector<double> parsed;
    parsed.reserve(n);
    for (size_t r : kept) {
      const std::string_view v = TrimWhitespace(table.rows[r][c]);
      if (IsMissingValue(v)) {
        ++missing;
        parsed.push_back(kNaN);
        continue;
      }
      ++present;
      bool b;
      if (maybe_bool && !ParseBool(v, &b)) maybe_bool = false;
      double x = 0;
      if (maybe_numeric) {
        if (ParseNumber(v, &x)) {
          parsed.push_back(x);
        } else {
          maybe_numeric = false;
        }
      }
      if (!maybe_bool && !maybe_numeric) break;
    }
    if (present == 0) {
      return Status::InvalidArgument(table.source + ": column " + Quote(col->name) +
                                     " has no values (all " + std::to_string(n) +
                                     " are missing); drop it or give it a type");
    }
    if (maybe_bool) {
      type = ColumnType::kBoolean;
    } else if (maybe_numeric) {
      // One number per kept row (missing ones as NaN): the loop only breaks once neither type fits.
      for (size_t i = 0; i < parsed.size(); ++i) {
        if (std::isnan(parsed[i])) continue;
        const size_t r = kept[i];
        FEDSEG_RETURN_IF_ERROR(
            CheckMagnitude(table, r, c, col->name, TrimWhitespace(table.rows[r][c]), parsed[i]));
      }
      col->type = ColumnType::kNumeric;
      col->numeric = std::move(parsed);
      col->missing = missing;
      return Status::OK();
    } else if (o.detect_dates) {
      std::vector<std::string_view> present;
      present.reserve(n);
      for (size_t r : kept) {
        const std::string_view v = TrimWhitespace(table.rows[r][c]);
        if (!IsMissingValue(v)) present.push_back(v);
      }
      if (const std::optional<DetectedDate> found = DetectDateFormat(present)) {
        d->features.pop_back();  // col is not used past here: the date's columns replace it
        d->notes.push_back(DateNote(name, found->format));
        if (found->ambiguous) {
          d->notes.push_back("column " + Quote(name) + ": no day is above 12, so " + found->format +
                             " is a guess; declare the format if day and month "
                             "are the other way round");
        }
        return LoadDateColumn(table, c, found->format, kept, d);
      }
      type = ColumnType::kCategorical;
    } else {
      type = ColumnType::kCategorical;
    }
  }

  col->type = *type;
  col->missing = 0;
  switch (*type) {
    case ColumnType::kNumeric:
      col->numeric.reserve(n);
      for (size_t r : kept) {
        const std::string_view v = TrimWhitespace(table.rows[r][c]);
        double x = kNaN;
        if (IsMissingValue(v)) {
          ++col->missing;
        } else if (!ParseNumber(v, &x)) {
          return Status::InvalidArgument(table.Where(r, c) + ": column " + Quote(col->name) +
                                         " is numeric but value " + Quote(v) + " is not a number");
        } else {
          FEDSEG_RETURN_IF_ERROR(CheckMagnitude(table, r, c, col->name, v, x));
        }
        col->numeric.push_back(x);
      }
      break;
    case ColumnType::kBoolean:
      col->numeric.reserve(n);
      col->text.reserve(n);
      for (size_t r : kept) {
        const std::string_view v = TrimWhitespace(table.rows[r][c]);
        bool b = false;
        if (IsMissingValue(v)) {
          ++col->missing;
          col->numeric.push_back(kNaN);
          col->text.emplace_back(kMissingCategory);
        } else if (ParseBool(v, &b)) {
          col->numeric.push_back(b ? 1.0 : 0.0);
          col->text.emplace_back(b ? "true" : "false");
        } else {
          return Status::InvalidArgument(table.Where(r, c) + ": column " + Quote(col->name) +
                                         " is boolean but value " + Quote(v) +
                                         " is not true/false/yes/no");
        }
      }
      break;
    case ColumnType::kCategorical: {
      col->text.reserve(n);
      bool changed = false;
      for (size_t r : kept) {
        const std::string_view v = TrimWhitespace(table.rows[r][c]);
        if (IsMissingValue(v)) {
          ++col->missing;
          col->text.emplace_back(kMissingCategory);
        } else if (o.normalize_categories) {
          col->text.push_back(NormalizeCategory(v));
          changed = changed || col->text.back() != v;
        } else {
          col->text.emplace_back(v);
        }
      }
      if (changed) {  // say so when spellings merged, not when a column was merely lower-cased
        std::unordered_set<std::string_view> written, merged;
        for (size_t i = 0; i < n; ++i) {
          if (col->text[i] == kMissingCategory) continue;
          written.insert(TrimWhitespace(table.rows[kept[i]][c]));
          merged.insert(col->text[i]);
        }
        if (merged.size() < written.size()) {
          d->notes.push_back("column " + Quote(name) + ": " + std::to_string(written.size()) +
                             " spellings that differ only in case or spacing are " +
                             std::to_string(merged.size()) + " categories");
        }
      }
      break;
    }
  }
  return Status::OK();
}

// The detection rule (dataset_loader.h, kLogMinSkewness): the column's skewness before and after
// the transform when it picks the column, nothing otherwise.
struct Skews {
  double before, after;
};
std::optional<Skews> LogDetection(const std::vector<double>& values) {
  size_t present = 0;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    if (v < 0) return std::nullopt;
    ++present;
  }
  if (present < kLogMinValues) return std::nullopt;
  const double before = Skewness(values);
  if (!(before >= kLogMinSkewness)) return std::nullopt;
  std::vector<double> logged(values.size());
  std::transform(values.begin(), values.end(), logged.begin(), SignedLog1p);
  const double after = Skewness(logged);
  if (!(std::fabs(after) <= before * (2.0 / 3.0))) return std::nullopt;
  return Skews{before, after};
}

// Replaces the declared and (with detect_log) detected heavy-tailed numeric columns of `d` by their
// LogColumnName, in place.
Status ApplyLogColumns(const LoadOptions& o, RawDataset* d) {
  const std::set<std::string> declared(o.log_columns.begin(), o.log_columns.end());
  std::set<std::string> names;
  for (const RawColumn& c : d->features) names.insert(c.name);
  for (RawColumn& c : d->features) {
    const bool wanted = declared.count(c.name) > 0;
    if (wanted && c.type != ColumnType::kNumeric) {
      return Status::InvalidArgument(d->source + ": column " + Quote(c.name) +
                                     " is declared log-transformed but is " +
                                     std::string(ColumnTypeName(c.type)));
    }
    if (c.type != ColumnType::kNumeric || !LogSourceOf(c.name).empty()) continue;
    std::optional<Skews> detected;
    if (!wanted && o.detect_log) detected = LogDetection(c.numeric);
    if (!wanted && !detected) continue;
    const std::string renamed = LogColumnName(c.name);
    if (names.count(renamed) > 0) {
      return Status::InvalidArgument(d->source + ": column " + Quote(c.name) +
                                     " would be read as " + Quote(renamed) +
                                     ", which the table already has; rename one of them");
    }
    if (detected) {
      char detail[96];
      std::snprintf(detail, sizeof detail, ": heavy-tailed (skewness %.2f; %.2f as a logarithm)",
                    detected->before, detected->after);
      d->notes.push_back("column " + Quote(c.name) + detail);
      d->notes.push_back(LogNote(c.name));
    }
    for (double& v : c.numeric) v = SignedLog1p(v);  // NaN stays NaN
    c.name = renamed;
  }
  return Status::OK();
}

}  // namespace

std::string LogColumnName(std::string_view column) { return std::string(column) + "[log1p]"; }

std::string LogSourceOf(std::string_view name) {
  constexpr std::string_view kSuffix = "[log1p]";
  if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix) {
    return std::string(name.substr(0, name.size() - kSuffix.size()));
  }
  return "";
}

double SignedLog1p(double x) { return std::copysign(std::log1p(std::fabs(x)), x); }

double SignedExpm1(double y) { return std::copysign(std::expm1(std::fabs(y)), y); }

std::string LogNote(std::string_view column) {
  return "column " + Quote(column) + ": encoded as " + LogColumnName(column) + " = sign(" +
         std::string(column) + ") ln(1 + |" + std::string(column) + "|)";
}

double Skewness(const std::vector<double>& values) {
  double n = 0, mean = 0;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    n += 1;
    mean += (v - mean) / n;
  }
  if (n < 2) return 0;
  double m2 = 0, m3 = 0;
  for (const double v : values) {
    if (std::isnan(v)) continue;
    const double e = v - mean;
    m2 += e * e;
    m3 += e * e * e;
  }
  m2 /= n;
  m3 /= n;
  if (!(m2 > 0)) return 0;
  return m3 / std::pow(m2, 1.5);
}

std::string DatePartName(std::string_view column, DatePart part) {
  switch (part) {
    case DatePart::kDays:
      return std::string(column) + "[days]";
    case DatePart::kMonth:
      return std::string(column) + "[month]";
    case DatePart::kWeekday:
      return std::string(column) + "[weekday]";
  }
  return std::string(column);
}

std::string DateNote(std::string_view column, std::string_view format) {
  return "column " + Quote(column) + ": dates (" + std::string(format) + ") encoded as " +
         DatePartName(column, DatePart::kDays) + ", " + DatePartName(column, DatePart::kMonth) +
         " and " + DatePartName(column, DatePart::kWeekday);
}

std::string DateSourceOf(std::string_view name) {
  for (const DatePart part : kDateParts) {
    const std::string suffix = DatePartName("", part);
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return std::string(name.substr(0, name.size() - suffix.size()));
    }
  }
  return "";
}

std::string NormalizeCategory(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool space = false;
  for (const char ch : value) {
    if (ch == ' ' || ch == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  return out;
}

void RequestFeatureColumn(const std::string& name, ColumnType type,
                          const std::map<std::string, std::string>& date_formats, LoadOptions* o) {
  const std::string source = DateSourceOf(name);
  if (auto it = date_formats.find(source); !source.empty() && it != date_formats.end()) {
    o->dates[source] = it->second;
    if (std::find(o->feature_columns.begin(), o->feature_columns.end(), source) ==
        o->feature_columns.end()) {
      o->feature_columns.push_back(source);
    }
    return;
  }
  if (const std::string log_source = LogSourceOf(name); !log_source.empty()) {
    o->types[log_source] = ColumnType::kNumeric;
    o->log_columns.push_back(log_source);
    o->feature_columns.push_back(log_source);
    return;
  }
  o->types[name] = type;
  o->feature_columns.push_back(name);
}

LoadOptions SameColumnsAs(const RawDataset& d, LoadOptions base) {
  base.feature_columns.clear();
  base.detect_log = false;  // the names say which columns are logarithms; no other may become one
  for (const RawColumn& c : d.features) RequestFeatureColumn(c.name, c.type, d.date_formats, &base);
  return base;
}

std::string_view ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kNumeric:
      return "numeric";
    case ColumnType::kCategorical:
      return "categorical";
    case ColumnType::kBoolean:
      return "boolean";
  }
  return "unknown";
}

Result<RawDataset> LoadDataset(const CsvTable& table, const LoadOptions& options) {
  Roles roles;
  FEDSEG_RETURN_IF_ERROR(ResolveRoles(table, options, &roles));
  const std::string& src = table.source;
  if (table.rows.empty()) return Status::InvalidArgument(src + ": no data rows after the header");

  RawDataset d;
  d.source = src;
  if (roles.label) d.label_name = table.header[*roles.label];
  if (roles.id) d.id_name = table.header[*roles.id];

  std::vector<size_t> kept;
  kept.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    // Segmenting (label optional) keeps every user, labelled or not.
    if (roles.label && !options.label_optional && IsMissingValue(table.rows[r][*roles.label])) {
      ++d.dropped_missing_label;
    } else {
      kept.push_back(r);
    }
  }
  if (kept.empty()) {
    return Status::InvalidArgument(src + ": all " + std::to_string(table.rows.size()) +
                                   " rows have a missing value in label column " +
                                   Quote(d.label_name));
  }

  if (roles.label) d.labels.reserve(kept.size());
  d.ids.reserve(kept.size());
  d.line_numbers.reserve(kept.size());
  for (size_t r : kept) {
    if (roles.label) d.labels.emplace_back(TrimWhitespace(table.rows[r][*roles.label]));
    if (roles.id) {
      d.ids.emplace_back(TrimWhitespace(table.rows[r][*roles.id]));
    } else {
      d.ids.push_back(std::to_string(r + 1));
    }
    d.line_numbers.push_back(r < table.line_numbers.size() ? table.line_numbers[r] : 0);
  }

  d.features.reserve(roles.features.size());
  for (const size_t c : roles.features) {
    FEDSEG_RETURN_IF_ERROR(LoadColumn(table, c, roles, options, kept, &d));
  }
  FEDSEG_RETURN_IF_ERROR(ApplyLogColumns(options, &d));
  return d;
}

Result<RawDataset> LoadDatasetFile(const std::string& path, const LoadOptions& options) {
  CsvOptions csv;
  csv.delimiter = options.delimiter;
  FEDSEG_ASSIGN_OR_RETURN(const CsvTable table, ReadCsvFile(path, csv));
  return LoadDataset(table, options);
}

Result<std::vector<std::string>> DistinctLabels(const RawDataset& d) {
  if (d.label_name.empty()) {
    return Status::InvalidArgument(d.source + ": the dataset has no label column");
  }
  const std::set<std::string> distinct(d.labels.begin(), d.labels.end());
  if (distinct.size() < 2) {
    std::string what =
        distinct.empty() ? "no values" : "only one class, " + Quote(*distinct.begin());
    return Status::InvalidArgument(d.source + ": label column " + Quote(d.label_name) + " has " +
                                   what + "; at least two classes are needed");
  }
  return std::vector<std::string>(distinct.begin(), distinct.end());
}

std::pair<std::vector<size_t>, std::vector<size_t>> StratifiedSplit(
    const std::vector<std::string>& labels, double test_fraction, uint64_t seed) {
  std::pair<std::vector<size_t>, std::vector<size_t>> out;
  auto& [train, test] = out;
  if (!(test_fraction > 0)) {  // also NaN
    train.resize(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) train[i] = i;
    return out;
  }
  // Classes in sorted order, so the generator's draws do not depend on row order.
  std::map<std::string_view, std::vector<size_t>> classes;
  for (size_t i = 0; i < labels.size(); ++i) classes[labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  for (auto& [label, rows] : classes) {
    const size_t n = rows.size();
    for (size_t i = n; i > 1; --i) std::swap(rows[i - 1], rows[UniformBelow(rng, i)]);
    size_t n_test = n;
    if (test_fraction < 1) {
      n_test = static_cast<size_t>(std::llround(static_cast<double>(n) * test_fraction));
      if (n >= 2) n_test = std::clamp<size_t>(n_test, 1, n - 1);
      if (n == 1) n_test = 0;
    }
    test.insert(test.end(), rows.begin(), rows.begin() + static_cast<ptrdiff_t>(n_test));
    train.insert(train.end(), rows.begin() + static_cast<ptrdiff_t>(n_test), rows.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return out;
}

RawDataset SelectRows(const RawDataset& d, const std::vector<size_t>& rows) {
  const size_t n = d.num_rows();
  for (size_t r : rows) {
    if (r >= n) {
      std::fprintf(stderr, "SelectRows: row %zu out of range (%zu rows in %s)\n", r, n,
                   d.source.c_str());
      std::abort();
    }
  }
  RawDataset out;
  out.source = d.source;
  out.label_name = d.label_name;
  out.id_name = d.id_name;
  out.dropped_missing_label = d.dropped_missing_label;
  out.date_formats = d.date_formats;
  out.notes = d.notes;
  auto pick = [&rows](const auto& from, auto* to) {
    if (from.empty()) return;
    to->reserve(rows.size());
    for (size_t r : rows) to->push_back(from[r]);
  };
  pick(d.labels, &out.labels);
  pick(d.ids, &out.ids);
  pick(d.line_numbers, &out.line_numbers);
  out.features.resize(d.features.size());
  for (size_t f = 0; f < d.features.size(); ++f) {
    const RawColumn& from = d.features[f];
    RawColumn& to = out.features[f];
    to.name = from.name;
    to.type = from.type;
    pick(from.numeric, &to.numeric);
    pick(from.text, &to.text);
    if (to.type == ColumnType::kCategorical) {
      to.missing =
          static_cast<uint64_t>(std::count(to.text.begin(), to.text.end(), kMissingCategory));
    } else {
      to.missing = static_cast<uint64_t>(std::count_if(to.numeric.begin(), to.numeric.end(),
                                                       [](double x) { return std::isnan(x); }));
    }
  }
  return out;
}

}  // namespace fedseg::data

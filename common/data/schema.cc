#include "common/data/schema.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/data/timestamp.h"

namespace fedseg::data {

Status DataSummary::Merge(const DataSummary& other) {
  if (columns.empty() && rows == 0) {
    *this = other;
    return Status::OK();
  }
  if (other.columns.size() != columns.size()) {
    return Status::InvalidArgument("cannot merge summaries with " + std::to_string(columns.size()) +
                                   " and " + std::to_string(other.columns.size()) + " columns");
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnSummary& o = other.columns[i];
    ColumnSummary& c = columns[i];
    if (o.name != c.name || o.type != c.type) {
      std::string hint;
      const std::string date =
          !DateSourceOf(c.name).empty() ? DateSourceOf(c.name) : DateSourceOf(o.name);
      if (!date.empty()) {
        hint = "; one side reads '" + date +
               "' as dates and the other does not: declare it (a date with its format, or "
               "categorical) in the data contract";
      }
      return Status::InvalidArgument(
          "cannot merge summaries: column " + std::to_string(i + 1) + " is '" + c.name + "' (" +
          std::string(ColumnTypeName(c.type)) + ") here and '" + o.name + "' (" +
          std::string(ColumnTypeName(o.type)) + ") there" + hint);
    }
  }
  for (const auto& [column, format] : other.date_formats) {
    auto it = date_formats.find(column);
    if (it != date_formats.end() && it->second != format) {
      return Status::InvalidArgument("cannot merge summaries: dates of column '" + column +
                                     "' are read as " + it->second + " here and " + format +
                                     " there; declare the format in the data contract");
    }
  }
  for (const auto& [column, format] : other.date_formats) date_formats.emplace(column, format);
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnSummary& o = other.columns[i];
    ColumnSummary& c = columns[i];
    c.count += o.count;
    c.sum += o.sum;
    c.sum_sq += o.sum_sq;
    c.missing += o.missing;
    c.identifier = c.identifier || o.identifier;
    for (const auto& [k, v] : o.categories) c.categories[k] += v;
  }
  for (const auto& [k, v] : other.label_counts) label_counts[k] += v;
  rows += other.rows;
  return Status::OK();
}

Status DataSummary::Validate() const {
  for (const ColumnSummary& c : columns) {
    if (c.name.empty()) return Status::InvalidArgument("summary has a column with an empty name");
    if (c.type != ColumnType::kNumeric && c.type != ColumnType::kCategorical &&
        c.type != ColumnType::kBoolean) {
      return Status::InvalidArgument("summary column '" + c.name + "' has an unknown type");
    }
    if (!std::isfinite(c.sum) || !std::isfinite(c.sum_sq)) {
      return Status::InvalidArgument("summary column '" + c.name + "' has non-finite sums");
    }
    for (const auto& [k, v] : c.categories) {
      if (!std::isfinite(v)) {
        return Status::InvalidArgument("summary column '" + c.name + "' category '" + k +
                                       "' has a non-finite count");
      }
    }
  }
  for (const auto& [k, v] : label_counts) {
    if (!std::isfinite(v)) {
      return Status::InvalidArgument("summary label '" + k + "' has a non-finite count");
    }
  }
  for (const auto& [column, format] : date_formats) {
    Status st = ValidateTimestampFormat(format);
    if (!st.ok()) {
      return Status::InvalidArgument("summary date column '" + column + "': " + st.message());
    }
    const std::string days = DatePartName(column, DatePart::kDays);
    if (std::none_of(columns.begin(), columns.end(),
                     [&](const ColumnSummary& c) { return c.name == days; })) {
      return Status::InvalidArgument("summary names date column '" + column +
                                     "' but has no column '" + days + "'");
    }
  }
  return Status::OK();
}

DataSummary Summarize(const RawDataset& data) {
  DataSummary s;
  s.rows = data.num_rows();
  s.date_formats = data.date_formats;
  s.columns.reserve(data.features.size());
  for (const RawColumn& col : data.features) {
    ColumnSummary c;
    c.name = col.name;
    c.type = col.type;
    c.missing = col.missing;
    if (col.type == ColumnType::kCategorical) {
      for (const std::string& v : col.text) c.categories[v] += 1.0;
    } else {
      for (double v : col.numeric) {
        if (std::isnan(v)) continue;
        ++c.count;
        c.sum += v;
        c.sum_sq += v * v;
      }
    }
    s.columns.push_back(std::move(c));
  }
  for (const std::string& l : data.labels) s.label_counts[l] += 1.0;
  return s;
}

std::string NumericLabelWarning(const std::string& label_name,
                                const std::vector<std::string>& classes) {
  if (classes.size() <= kManyNumericClasses) return "";
  for (const std::string& c : classes) {
    double x = 0;
    if (!ParseNumber(c, &x)) return "";
  }
  return "label '" + label_name + "' has " + std::to_string(classes.size()) +
         " distinct numeric values: the model becomes a classifier with " +
         std::to_string(classes.size()) + " classes; bin it into a few segments first (e.g. low/medium/high)";
}

uint64_t EncodeStats::total_unseen() const {
  uint64_t n = 0;
  for (const auto& [col, count] : unseen_categories) n += count;
  return n;
}

Result<Schema> Schema::FromSummary(const DataSummary& summary, const std::string& label_name,
                                   const SchemaOptions& options) {
  FEDSEG_RETURN_IF_ERROR(summary.Validate());
  Schema schema;
  schema.label_name_ = label_name;
  for (const auto& [name, count] : summary.label_counts) {
    if (count > 0) schema.class_names_.push_back(name);  // std::map: sorted order
  }
  if (schema.class_names_.size() < 2) {
    std::string seen;
    for (const std::string& n : schema.class_names_) seen += (seen.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("label '" + label_name + "' needs at least two classes, found " +
                                   std::to_string(schema.class_names_.size()) +
                                   (seen.empty() ? "" : " (" + seen + ")"));
  }
  if (schema.class_names_.size() > kMaxClasses) {
    return Status::InvalidArgument(
        "label '" + label_name + "' has " + std::to_string(schema.class_names_.size()) +
        " classes, more than the " + std::to_string(kMaxClasses) +
        " a segmentation model supports; is it an identifier or a number? Bin it into a few "
        "segments first");
  }
  int offset = 0;
  for (const ColumnSummary& c : summary.columns) {
    SchemaColumn col;
    col.name = c.name;
    col.type = c.type;
    col.offset = offset;
    if (c.type == ColumnType::kCategorical) {
      for (const auto& [cat, count] : c.categories) {
        if (count >= options.min_category_count) col.vocabulary.push_back(cat);
      }
      col.width = static_cast<int>(col.vocabulary.size());
    } else if (c.identifier) {
      col.width = 0;  // an identifier some region found: never an input
    } else {
      double n = static_cast<double>(c.count);
      if (n > 0) {
        col.mean = c.sum / n;
        double var = std::max(0.0, c.sum_sq / n - col.mean * col.mean);
        col.stddev = std::sqrt(var);
      }
      if (!(col.stddev > 1e-12) || !std::isfinite(col.stddev)) col.stddev = 1.0;
      col.width = 1;
    }
    offset += col.width;
    schema.columns_.push_back(std::move(col));
  }
  schema.input_dim_ = offset;
  schema.date_formats_ = summary.date_formats;
  for (const auto& [column, format] : schema.date_formats_) {
    schema.AddNote(DateNote(column, format));
  }
  for (const SchemaColumn& col : schema.columns_) {
    if (const std::string source = LogSourceOf(col.name);
        !source.empty() && col.type == ColumnType::kNumeric) {
      schema.AddNote(LogNote(source));
    }
    if (col.width == 0) {
      schema.AddNote("column '" + col.name +
                     "': no input (an identifier, or every category held by too few rows)");
    }
  }
  if (schema.input_dim_ == 0) {
    return Status::InvalidArgument("no features left to train on (every column was dropped)");
  }
  return schema;
}

int Schema::ClassIndex(const std::string& name) const {
  auto it = std::lower_bound(class_names_.begin(), class_names_.end(), name);
  if (it == class_names_.end() || *it != name) return -1;
  return static_cast<int>(it - class_names_.begin());
}

std::string Schema::FeatureName(int j) const {
  for (const SchemaColumn& c : columns_) {
    if (j >= c.offset && j < c.offset + c.width) {
      if (c.type == ColumnType::kCategorical) return c.name + "=" + c.vocabulary[j - c.offset];
      return c.name;
    }
  }
  return "#" + std::to_string(j);
}

LoadOptions Schema::MakeLoadOptions(bool label_optional) const {
  LoadOptions o;
  o.label = label_name_;
  o.label_optional = label_optional;
  o.detect_dates = false;
  o.detect_log = false;  // the schema's column names say which columns are read as logarithms
  o.normalize_categories = normalized_categories_;
  for (const SchemaColumn& c : columns_) {
    if (c.width == 0) continue;  // feeds nothing into the model (an identifier, say)
    RequestFeatureColumn(c.name, c.type, date_formats_, &o);
  }
  return o;
}

void Schema::AddNote(std::string note) {
  if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) {
    notes_.push_back(std::move(note));
  }
}

Result<EncodedData> Schema::Encode(const RawDataset& data, EncodeStats* stats) const {
  const size_t n = data.num_rows();
  if (n == 0 && data.features.empty()) {  // an empty selection (no validation split, say)
    EncodedData empty;
    empty.x.resize(input_dim_, 0);
    return empty;
  }
  // A width-0 column (an identifier, or a column whose every category was too rare) feeds nothing
  // into the model: a table may have it (a region's training table) or not (evaluate, segment;
  // a date's width-0 part comes with its other parts).
  size_t used = 0;
  for (const SchemaColumn& sc : columns_) used += sc.width > 0 ? 1 : 0;
  auto wrong_count = [&] {
    return Status::InvalidArgument(
        data.source + ": table has " + std::to_string(data.features.size()) +
        " feature columns, the schema expects " +
        (used == columns_.size()
             ? std::to_string(used)
             : std::to_string(used) + " to " + std::to_string(columns_.size())));
  };
  if (data.features.size() > columns_.size() || data.features.size() < used) return wrong_count();
  EncodedData out;
  out.x.setZero(input_dim_, static_cast<Eigen::Index>(n));
  size_t f = 0;
  for (size_t k = 0; k < columns_.size(); ++k) {
    const SchemaColumn& sc = columns_[k];
    const bool present = f < data.features.size() && data.features[f].name == sc.name;
    if (!present && sc.width == 0) continue;
    if (f >= data.features.size()) return wrong_count();
    const RawColumn& rc = data.features[f++];
    if (rc.name != sc.name) {
      return Status::InvalidArgument(data.source + ": feature column " + std::to_string(f) +
                                     " is '" + rc.name + "', the schema expects '" + sc.name + "'");
    }
    if (sc.width == 0) continue;
    if (sc.type == ColumnType::kCategorical) {
      if (rc.text.size() != n) {
        return Status::InvalidArgument(data.source + ": column '" + sc.name +
                                       "' is not categorical in this table");
      }
      uint64_t unseen = 0;
      for (size_t i = 0; i < n; ++i) {
        auto it = std::lower_bound(sc.vocabulary.begin(), sc.vocabulary.end(), rc.text[i]);
        if (it != sc.vocabulary.end() && *it == rc.text[i]) {
          out.x(sc.offset + (it - sc.vocabulary.begin()), static_cast<Eigen::Index>(i)) = 1.0f;
        } else if (rc.text[i] != kMissingCategory) {
          ++unseen;
        }
      }
      if (stats != nullptr && unseen > 0) stats->unseen_categories[sc.name] += unseen;
    } else {
      if (rc.numeric.size() != n) {
        return Status::InvalidArgument(data.source + ": column '" + sc.name +
                                       "' is not numeric in this table");
      }
      const double inv = 1.0 / sc.stddev;
      for (size_t i = 0; i < n; ++i) {
        double v = rc.numeric[i];
        out.x(sc.offset, static_cast<Eigen::Index>(i)) =
            std::isnan(v) ? 0.0f : static_cast<float>((v - sc.mean) * inv);
      }
    }
  }
  if (f != data.features.size()) return wrong_count();
  if (!data.labels.empty()) {
    out.y.resize(n);
    for (size_t i = 0; i < n; ++i) {
      int c = ClassIndex(data.labels[i]);
      if (c < 0) {
        std::string line = i < data.line_numbers.size() ? std::to_string(data.line_numbers[i]) : "?";
        std::string known;
        for (const std::string& s : class_names_) known += (known.empty() ? "" : ", ") + s;
        return Status::InvalidArgument(data.source + ":" + line + ": label '" + data.labels[i] +
                                       "' in column '" + label_name_ +
                                       "' is not a class of the model (" + known + ")");
      }
      out.y[i] = c;
    }
  }
  return out;
}

Status Schema::Validate() const {
  if (class_names_.size() < 2) return Status::Corruption("schema has fewer than two classes");
  if (!std::is_sorted(class_names_.begin(), class_names_.end())) {
    return Status::Corruption("schema class names are not sorted");
  }
  int offset = 0;
  for (const SchemaColumn& c : columns_) {
    if (c.offset != offset) return Status::Corruption("schema column '" + c.name + "' is misplaced");
    // Numeric columns are one input, or none (an identifier).
    const bool width_ok = c.type == ColumnType::kCategorical
                              ? c.width == static_cast<int>(c.vocabulary.size())
                              : c.width == 1 || c.width == 0;
    if (!width_ok) return Status::Corruption("schema column '" + c.name + "' has a bad width");
    if (!std::isfinite(c.mean) || !std::isfinite(c.stddev) || c.stddev <= 0) {
      return Status::Corruption("schema column '" + c.name + "' has invalid scaling");
    }
    if (!std::is_sorted(c.vocabulary.begin(), c.vocabulary.end())) {
      return Status::Corruption("schema column '" + c.name + "' vocabulary is not sorted");
    }
    offset += c.width;
  }
  if (offset != input_dim_ || input_dim_ <= 0) {
    return Status::Corruption("schema input dimension does not match its columns");
  }
  for (const auto& [column, format] : date_formats_) {
    if (!ValidateTimestampFormat(format).ok()) {
      return Status::Corruption("schema date column '" + column + "' has an invalid format");
    }
  }
  return Status::OK();
}

}  // namespace fedseg::data

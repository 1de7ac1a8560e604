#include "common/features/feature_table.h"

#include <charconv>
#include <cmath>

namespace fedseg::features {
namespace {

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) return;  // an empty cell: missing
  // Small whole numbers (counts, days) are most cells: their shortest form is their digits, as
  // to_chars would write them (its scientific form "1e+00" is never shorter below 10,000).
  if (v > -10000 && v < 10000 && v == static_cast<double>(static_cast<int>(v)) &&
      !(v == 0 && std::signbit(v))) {
    int i = static_cast<int>(v);
    if (i < 0) {
      out += '-';
      i = -i;
    }
    char digits[4];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + i % 10);
      i /= 10;
    } while (i > 0);
    while (n > 0) out += digits[--n];
    return;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? p : buf);
}

std::string Cell(const FeatureColumn& c, size_t row) {
  if (c.text) return c.texts[row];
  std::string s;
  AppendNumber(s, c.numbers[row]);
  return s;
}

}  // namespace

std::string FeatureTable::ToCsv() const {
  std::string out;
  out.reserve(rows() * (16 + 12 * columns.size()));
  data::AppendCsvField(out, id_column);
  for (const FeatureColumn& c : columns) {
    out += ',';
    data::AppendCsvField(out, c.name);
  }
  if (!label_name.empty()) {
    out += ',';
    data::AppendCsvField(out, label_name);
  }
  out += '\n';
  for (size_t r = 0; r < rows(); ++r) {
    data::AppendCsvField(out, ids[r]);
    for (const FeatureColumn& c : columns) {
      out += ',';
      if (c.text) {
        data::AppendCsvField(out, c.texts[r]);
      } else {
        AppendNumber(out, c.numbers[r]);
      }
    }
    if (!label_name.empty()) {
      out += ',';
      data::AppendCsvField(out, labels[r]);
    }
    out += '\n';
  }
  return out;
}

data::CsvTable FeatureTable::ToCsvTable(const std::string& source) const {
  data::CsvTable t;
  t.source = source;
  t.header.push_back(id_column);
  for (const FeatureColumn& c : columns) t.header.push_back(c.name);
  if (!label_name.empty()) t.header.push_back(label_name);
  t.rows.reserve(rows());
  for (size_t r = 0; r < rows(); ++r) {
    std::vector<std::string> row;
    row.reserve(t.header.size());
    row.push_back(ids[r]);
    for (const FeatureColumn& c : columns) row.push_back(Cell(c, r));
    if (!label_name.empty()) row.push_back(labels[r]);
    t.rows.push_back(std::move(row));
    t.line_numbers.push_back(r + 2);  // as in the CSV that `features --out` writes
  }
  return t;
}

nlohmann::json FeatureTable::SummaryJson() const {
  nlohmann::json names = nlohmann::json::array();
  for (const FeatureColumn& c : columns) names.push_back(c.name);
  nlohmann::json j = {
      {"rows", rows()},
      {"id_column", id_column},
      {"label", label_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(label_name)},
      {"features", names},
      {"users_without_history", users_without_history}};
  if (!label_name.empty()) {
    std::map<std::string, uint64_t> counts;
    for (const std::string& l : labels) ++counts[l.empty() ? "<missing>" : l];
    j["label_counts"] = counts;
  }
  nlohmann::json src = nlohmann::json::array();
  for (const SourceReport& s : sources) {
    src.push_back({{"name", s.name},
                   {"path", s.path},
                   {"rows", s.rows},
                   {"used", s.used},
                   {"skipped", s.skipped}});
  }
  j["sources"] = src;
  nlohmann::json feats = nlohmann::json::array();
  for (const FeatureReport& f : features) {
    feats.push_back({{"name", f.name},
                     {"events", f.events},
                     {"absent_users", f.absent_users},
                     {"missing_values", f.missing_values}});
  }
  j["feature_report"] = feats;
  return j;
}

}  // namespace fedseg::features

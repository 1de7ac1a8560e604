#include "common/data/category_policy.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

namespace fedseg::data {

Status CategoryPolicy::Validate() const {
  if (!(min_category_count >= 1) || !std::isfinite(min_category_count)) {
    return Status::InvalidArgument("min_category_count must be a finite number >= 1, got " +
                                   std::to_string(min_category_count));
  }
  if (!(identifier_distinct_share > 0 && identifier_distinct_share <= 1)) {
    return Status::InvalidArgument("identifier_distinct_share must be in (0, 1], got " +
                                   std::to_string(identifier_distinct_share));
  }
  return Status::OK();
}

std::vector<std::string> CategoryPolicyReport::Warnings() const {
  std::vector<std::string> out;
  for (const Identifier& id : identifiers) {
    out.push_back("column '" + id.column + "' looks like an identifier (" +
                  std::to_string(id.distinct) + " distinct values in " +
                  std::to_string(id.present) +
                  " rows): it is not used as a feature; name it as the id column (--id-column, "
                  "data.id_column) or drop it");
  }
  return out;
}

namespace {

// Whether a column name has the word "id" (or "uuid") in it: "CustomerID", "customer_id",
// "Row ID", "userId", "id"; not "Idle" or "Valid".
bool NamedLikeAnIdentifier(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  char prev = 0;
  for (const char ch : name) {
    const bool alnum = std::isalnum(static_cast<unsigned char>(ch)) != 0;
    // A new word at a non-alphanumeric character, and at a lower-to-upper case step ("userId").
    const bool step = std::isupper(static_cast<unsigned char>(ch)) &&
                      std::islower(static_cast<unsigned char>(prev));
    if (!alnum || step) {
      if (!word.empty()) words.push_back(word);
      word.clear();
    }
    if (alnum) word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    prev = ch;
  }
  if (!word.empty()) words.push_back(word);
  return std::any_of(words.begin(), words.end(),
                     [](const std::string& w) { return w == "id" || w == "uuid"; });
}

}  // namespace

std::vector<CategoryPolicyReport::Identifier> FindNumericIdentifiers(const CategoryPolicy& policy,
                                                                     const RawDataset& data) {
  std::vector<CategoryPolicyReport::Identifier> out;
  for (const RawColumn& c : data.features) {
    if (c.type != ColumnType::kNumeric) continue;
    std::vector<double> values;
    values.reserve(c.numeric.size());
    bool whole = true;
    for (const double v : c.numeric) {
      if (std::isnan(v)) continue;
      whole = whole && v == std::floor(v);
      values.push_back(v);
    }
    if (!whole || values.size() < kIdentifierMinRows) continue;
    std::sort(values.begin(), values.end());
    const uint64_t distinct =
        static_cast<uint64_t>(std::unique(values.begin(), values.end()) - values.begin());
    const uint64_t present = c.numeric.size() - c.missing;
    if (static_cast<double>(distinct) <
        policy.identifier_distinct_share * static_cast<double>(present)) {
      continue;
    }
    // Row and customer numbers fill their range; amounts and durations that happen to be all
    // distinct whole numbers spread over one many times wider.
    const double span = values[distinct - 1] - values[0] + 1;
    if (span <= 2.0 * static_cast<double>(distinct) || NamedLikeAnIdentifier(c.name)) {
      out.push_back({c.name, distinct, present});
    }
  }
  return out;
}

CategoryPolicyReport ApplyCategoryPolicy(const CategoryPolicy& policy, DataSummary* summary,
                                         const RawDataset* data) {
  CategoryPolicyReport report;
  if (data != nullptr) {
    for (const CategoryPolicyReport::Identifier& id : FindNumericIdentifiers(policy, *data)) {
      for (ColumnSummary& c : summary->columns) {
        if (c.name != id.column || c.type != ColumnType::kNumeric) continue;
        c.identifier = true;
        c.count = 0;
        c.sum = c.sum_sq = 0;
        report.identifiers.push_back(id);
      }
    }
  }
  for (ColumnSummary& c : summary->columns) {
    if (c.type != ColumnType::kCategorical || c.categories.empty()) continue;
    const uint64_t distinct = c.categories.size();
    const uint64_t present = summary->rows > c.missing ? summary->rows - c.missing : 0;
    if (present >= kIdentifierMinRows &&
        static_cast<double>(distinct) >=
            policy.identifier_distinct_share * static_cast<double>(present)) {
      report.identifiers.push_back({c.name, distinct, present});
      c.categories.clear();
      continue;
    }
    for (auto it = c.categories.begin(); it != c.categories.end();) {
      if (it->second < policy.min_category_count) {
        ++report.rare_categories_dropped;
        report.rare_rows += static_cast<uint64_t>(std::max(0.0, std::round(it->second)));
        it = c.categories.erase(it);
      } else {
        ++it;
      }
    }
  }
  return report;
}

}  // namespace fedseg::data

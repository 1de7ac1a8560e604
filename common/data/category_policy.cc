#include "common/data/category_policy.h"

#include <algorithm>
#include <cmath>

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

CategoryPolicyReport ApplyCategoryPolicy(const CategoryPolicy& policy, DataSummary* summary) {
  CategoryPolicyReport report;
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

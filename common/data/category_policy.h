// Which categories may enter a shared one-hot vocabulary, applied to a DataSummary before it
// leaves a region (federated summaries) and before a local model is fitted (`fedseg-client train`).
//
// Two rules keep identifying values out of every schema, model file and checkpoint:
//  * a categorical column whose values are (nearly) all distinct is an identifier that was not
//    declared as one (a forgotten `--id-column`): none of its categories is kept, so it is never
//    one-hot encoded (the column stays in the schema with width 0, so every region's summary
//    keeps the same columns), and the caller prints a warning naming the column;
//  * a numeric column of whole numbers, nearly all distinct, that either fills a range (1, 2, 3,
//    ... as row numbers and sequential customer numbers do) or is named like one ("CustomerID",
//    "customer_id", "Row ID"), is an identifier too: it is flagged (ColumnSummary::identifier),
//    its count and sums are zeroed, and the schema gives it width 0;
//  * a category seen in fewer than `min_category_count` rows is dropped (k-anonymity of the
//    vocabulary: a value held by fewer than k users is never published). Dropped and unseen
//    categories encode as all zeros, the schema's "other" bucket.
// The coordinator applies the same threshold again to the merged counts (SchemaOptions).
#ifndef FEDSEG_COMMON_DATA_CATEGORY_POLICY_H_
#define FEDSEG_COMMON_DATA_CATEGORY_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/data/schema.h"

namespace fedseg::data {

struct CategoryPolicy {
  // A category enters a vocabulary only when at least this many rows hold it (k).
  double min_category_count = 10.0;
  // A categorical column with at least kIdentifierMinRows present values, of which at least this
  // share are distinct, is taken for an identifier.
  double identifier_distinct_share = 0.9;

  // min_category_count >= 1, identifier_distinct_share in (0, 1].
  Status Validate() const;
};

// Columns with fewer present values are never called identifiers (the k rule alone covers them).
inline constexpr uint64_t kIdentifierMinRows = 20;

struct CategoryPolicyReport {
  struct Identifier {
    std::string column;
    uint64_t distinct = 0;  // distinct values seen
    uint64_t present = 0;   // non-missing values
  };
  std::vector<Identifier> identifiers;
  uint64_t rare_categories_dropped = 0;  // categories below min_category_count (identifiers aside)
  uint64_t rare_rows = 0;                // rows whose category was dropped for being rare

  // One line per identifier column: what was found and what to do.
  std::vector<std::string> Warnings() const;
};

// Removes from `summary` the categories the policy forbids and says what it removed. With
// `data` (the table `summary` summarises), numeric identifiers are found and flagged too; without
// it (a released DP summary, where a flag would be one more data-dependent bit) they are not.
CategoryPolicyReport ApplyCategoryPolicy(const CategoryPolicy& policy, DataSummary* summary,
                                         const RawDataset* data = nullptr);

// The numeric columns of `data` the policy takes for identifiers (see above).
std::vector<CategoryPolicyReport::Identifier> FindNumericIdentifiers(const CategoryPolicy& policy,
                                                                     const RawDataset& data);

}  // namespace fedseg::data

#endif  // FEDSEG_COMMON_DATA_CATEGORY_POLICY_H_

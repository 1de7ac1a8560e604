// Schema: how a region's raw user table becomes the model's input vector, fitted from mergeable
// summaries.
//
// A DataSummary holds only counts, sums and sums of squares per numeric column, counts per category
// and counts per label. Summaries of disjoint tables merge by addition, so the coordinator can build
// one global Schema from every region's summary (federated preprocessing) exactly as if the tables
// had been pooled, without seeing a row. The Schema fixes the feature order, the standardisation of
// numeric columns (mean imputation of missing values), the one-hot vocabulary of categorical columns
// (unseen categories encode as all zeros) and the class list. It is stored inside every model file,
// so train, evaluate and segment apply the same transform.
#ifndef FEDSEG_COMMON_DATA_SCHEMA_H_
#define FEDSEG_COMMON_DATA_SCHEMA_H_

#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/serialization.h"
#include "common/base/status.h"
#include "common/data/dataset_loader.h"

namespace fedseg::data {

// Mergeable summary of one column.
struct ColumnSummary {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
  uint64_t count = 0;    // non-missing values (numeric and boolean)
  double sum = 0.0;      // numeric and boolean (true = 1)
  double sum_sq = 0.0;   // numeric and boolean
  uint64_t missing = 0;  // missing values
  std::map<std::string, double> categories;  // categorical: count per category (double: may be noisy)
  // A numeric column taken for an identifier (CategoryPolicy): no input, and its count and sums
  // are zero, so nothing of its values leaves.
  bool identifier = false;

  template <class Archive>
  void serialize(Archive& ar) {
    int t = static_cast<int>(type);
    ar(name, t, count, sum, sum_sq, missing, categories, identifier);
    type = static_cast<ColumnType>(t);
  }
};

// Mergeable summary of a table: one ColumnSummary per feature column plus label counts.
struct DataSummary {
  std::vector<ColumnSummary> columns;
  std::map<std::string, double> label_counts;
  uint64_t rows = 0;
  // Date columns (source column -> format) whose derived columns (DatePart) are in `columns`.
  // Public: a format says how dates are written, not what they are.
  std::map<std::string, std::string> date_formats;

  // Adds `other` (a disjoint table with the same columns and types) into this summary.
  Status Merge(const DataSummary& other);
  // Checks internal consistency of a summary received from a peer.
  Status Validate() const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(columns, label_counts, rows, date_formats);
  }
};

// Summarises a loaded table (feature columns and labels).
DataSummary Summarize(const RawDataset& data);

// One feature column of the fitted schema.
struct SchemaColumn {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
  double mean = 0.0;                    // numeric/boolean: training mean (imputes missing values)
  double stddev = 1.0;                  // numeric/boolean: training standard deviation (1 if 0)
  std::vector<std::string> vocabulary;  // categorical: one-hot categories, sorted
  int offset = 0;                       // first index in the encoded vector
  int width = 1;                        // encoded width (1, or vocabulary size)

  template <class Archive>
  void serialize(Archive& ar) {
    int t = static_cast<int>(type);
    ar(name, t, mean, stddev, vocabulary, offset, width);
    type = static_cast<ColumnType>(t);
  }
};

// Encoded data: features as a (input_dim x rows) column-major matrix (one column per row, so a
// mini-batch is a block of columns) and class indices.
struct EncodedData {
  Eigen::MatrixXf x;
  std::vector<int> y;  // class index per row; empty when the table has no label column
  size_t rows() const { return static_cast<size_t>(x.cols()); }
};

// A label with more classes is refused: a segmentation model predicts a handful of segments, and a
// label with hundreds of values is almost always a number or an identifier given as the label.
inline constexpr size_t kMaxClasses = 100;
// A numeric-looking label with more distinct values than this gets a warning suggesting binning.
inline constexpr size_t kManyNumericClasses = 20;

// A warning when `classes` (distinct label values) are more than kManyNumericClasses numbers
// ("label 'Spending Score (1-100)' has 84 distinct numeric values ..."), else empty.
std::string NumericLabelWarning(const std::string& label_name,
                                const std::vector<std::string>& classes);

// What encoding found in a table besides the encoded values.
struct EncodeStats {
  // Per categorical column the model uses: non-missing values not in its vocabulary (unseen in
  // training, or too rare to enter it), which encode as all zeros. Only columns with such values.
  std::map<std::string, uint64_t> unseen_categories;
  uint64_t total_unseen() const;
};

struct SchemaOptions {
  // A category enters the vocabulary only if its (possibly noisy) count reaches this threshold.
  double min_category_count = 1.0;
};

class Schema {
 public:
  Schema() = default;

  // Fits the schema from a (merged) summary. Fails if the label has fewer than two classes or more
  // than kMaxClasses.
  static Result<Schema> FromSummary(const DataSummary& summary, const std::string& label_name,
                                    const SchemaOptions& options = {});

  int input_dim() const { return input_dim_; }
  const std::vector<SchemaColumn>& columns() const { return columns_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::string& label_name() const { return label_name_; }
  int num_classes() const { return static_cast<int>(class_names_.size()); }
  // Index of a class name, or -1.
  int ClassIndex(const std::string& name) const;
  // Name of encoded feature j ("Month=Nov", "PageValues").
  std::string FeatureName(int j) const;

  // Options that make the CSV loader read a table the way this schema expects (same feature
  // columns and types), for evaluate and segment. Width-0 columns (identifiers, columns whose
  // every category was too rare) are not asked for: they feed nothing into the model.
  LoadOptions MakeLoadOptions(bool label_optional) const;

  // Encodes a loaded table: with every schema column in order, or without the width-0 ones.
  // Labels not in the class list are an error naming the line.
  // `stats`, when given, receives the count of unseen categories per column.
  Result<EncodedData> Encode(const RawDataset& data, EncodeStats* stats = nullptr) const;

  // Date columns (source column -> format) the schema's "<source>[days|month|weekday]" columns
  // are derived from.
  const std::map<std::string, std::string>& date_formats() const { return date_formats_; }
  // Whether categorical values are normalised (NormalizeCategory) before they meet the
  // vocabulary. False only for model files and checkpoints written before the rule.
  bool normalized_categories() const { return normalized_categories_; }
  // The preprocessing decisions taken on the data rather than declared (dates detected, columns
  // that are no input, spellings merged), one sentence each: printed once when taken, kept here so
  // the model file says how it reads a table.
  const std::vector<std::string>& notes() const { return notes_; }
  void AddNote(std::string note);

  Status Validate() const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(label_name_, class_names_, columns_, input_dim_, date_formats_, normalized_categories_,
       notes_);
  }
  // The layout of model files before version 3 and checkpoints before version 2: no dates, no
  // normalisation, no notes (what a schema read this way holds).
  template <class Archive>
  void SerializeCore(Archive& ar) {
    ar(label_name_, class_names_, columns_, input_dim_);
    if constexpr (Archive::is_loading::value) {
      date_formats_.clear();
      normalized_categories_ = false;
      notes_.clear();
    }
  }

 private:
  std::string label_name_;
  std::vector<std::string> class_names_;
  std::vector<SchemaColumn> columns_;
  int input_dim_ = 0;
  std::map<std::string, std::string> date_formats_;
  bool normalized_categories_ = true;
  std::vector<std::string> notes_;
};

// Serializes a schema in its pre-notes layout (Schema::SerializeCore), for old file versions.
struct SchemaCoreLayout {
  Schema* schema;
  template <class Archive>
  void serialize(Archive& ar) {
    schema->SerializeCore(ar);
  }
};

}  // namespace fedseg::data

#endif  // FEDSEG_COMMON_DATA_SCHEMA_H_

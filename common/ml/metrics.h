// Mergeable classification metrics: what a region sends after evaluating the global model, and the
// report the coordinator computes from the merged summaries.
//
// A federation never pools evaluation rows, so every metric is computed from a
// ClassificationSummary that regions build locally (Add/AddBatch) and the coordinator combines
// (Merge). The summary holds only counts: a K x K confusion matrix, a fixed-point log-loss total
// and, per class, two histograms of that class's predicted probability (rows of that class / rows
// of other classes) from which ROC AUC is computed. Integer counts make merging exact, associative
// and order-independent: the merged summary of a split equals the summary of the whole, bit for
// bit, whatever order regions reply in. ComputeReport() reproduces scikit-learn's definitions (the
// tests compare against sklearn 1.2).
#ifndef FEDSEG_COMMON_ML_METRICS_H_
#define FEDSEG_COMMON_ML_METRICS_H_

#include <cereal/cereal.hpp>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace fedseg::ml {

// The name of class `c` in `names` (a schema's label values), or its number when `names` has none.
std::string ClassNameOr(const std::vector<std::string>& names, int c);

// Mergeable evaluation summary for a K-class classifier. Regions add rows; the coordinator merges.
//
// Score histograms. AUC needs the ranking of scores, which a fixed-size summary can only keep
// approximately: scores are bucketed and pairs in the same bucket count 1/2 (as exact ties do). The
// buckets are uniform in logit space, logit(p) = log(p / (1 - p)) in [kLogitMin, kLogitMax], so
// confident predictions near 0 and 1, where a classifier's ranking of rare classes happens, get as
// much resolution as p near 1/2:
//   - kScoreBins = 4096 over 48 logits gives buckets 3/256 ~= 0.0117 logit wide, i.e. a relative
//     resolution of ~1.2% in p near 0 (and in 1 - p near 1) and ~0.003 in p near 1/2. On the test
//     distributions (separated, overlapping, 1:50 imbalance, p in 1e-6..1e-3, K=2 and K=4) the AUC
//     error is ~1e-5, far inside the 1e-3 budget; 2048 bins would also pass, 4096 leaves margin
//     for narrow score distributions.
//   - kLogitMax = 17: float32 cannot represent probabilities between 1 - 2^-24 (logit 16.6) and 1,
//     so a higher bound would only add empty buckets. p = 1 lands in the top bucket.
//   - kLogitMin = -31 (p ~= 3.4e-14): unlike 1 - p, small p is well resolved in float32, and
//     softmax outputs of 1e-10 for a class are common; only scores below ~3e-14 share the bottom
//     bucket, where any ranking is noise anyway.
// Size: 2 * K * 4096 uint64 = 64 KiB per class (256 KiB for K = 4). Counts stay uint64 because
// the coordinator's merged totals are not bounded by one region's row count.
//
// Log loss. Each row contributes -log(q_y / sum_k q_k) with q_k = clamp(p_k, 1e-15, 1 - 1e-15),
// i.e. probabilities are clipped and renormalised as sklearn's log_loss(eps=1e-15) does (sklearn
// <= 1.4; newer versions clip at the dtype's epsilon and no longer renormalise, which agrees to
// 1e-6 on normalised inputs that are not within 1e-7 of 0). The per-row loss is stored in
// fixed point with 2^24 units per nat, so merging is exact integer addition; rounding costs at
// most 3e-8 of the mean (below float32 input precision), and a uint64 total holds ~3e10 rows even
// at the maximum per-row loss (~35 + log K nats), ~1e12 rows at a typical loss of 1.
//
// Invalid rows (label outside [0, K), or a non-finite probability) are skipped and counted in
// invalid_rows() rather than corrupting the counts; Add cannot fail, so the caller checks that.
//
// Wire format (cereal; with the portable binary archive every integer is little-endian):
//   uint32 format_version (= kFormatVersion), int32 num_classes, uint32 score_bins (= kScoreBins),
//   uint64 count, uint64 invalid_rows, uint64 log_loss_units,
//   uint64 confusion[K*K]            (row-major: row = true class, column = predicted class),
//   uint64 positive_hist[K*kScoreBins], uint64 negative_hist[K*kScoreBins]   (class-major).
// Loading throws cereal::Exception, as cereal does for truncated input, on an unknown version, a
// different kScoreBins or num_classes outside [2, kMaxClasses] (0, the empty summary, is allowed);
// arrays are read one class at a time, so a short or hostile input never makes us allocate much
// more than it holds. Loading fills
// a temporary and only then replaces *this. Call Validate() on anything received from a peer.
class ClassificationSummary {
 public:
  static constexpr int kScoreBins = 4096;
  static constexpr double kLogitMin = -31.0;
  static constexpr double kLogitMax = 17.0;
  // Buckets per unit of logit (4096 / 48).
  static constexpr double kBinsPerLogit = kScoreBins / (kLogitMax - kLogitMin);
  // Log loss is accumulated in units of 2^-24 nat (see above).
  static constexpr double kLogLossUnitsPerNat = 16777216.0;
  // Probabilities are clipped to [kProbabilityEps, 1 - kProbabilityEps] for the log loss.
  static constexpr double kProbabilityEps = 1e-15;
  // Bounds what a peer can make us allocate (2 * 256 * 4096 * 8 bytes = 16 MiB of histograms).
  static constexpr int kMaxClasses = 256;
  static constexpr uint32_t kFormatVersion = 1;

  ClassificationSummary() = default;  // 0 classes; call Reset(K) or construct with K
  // num_classes outside [2, kMaxClasses] gives a 0-class summary: every added row is invalid and
  // Validate() fails. Use Create() when K comes from input and the error should be reported.
  explicit ClassificationSummary(int num_classes);
  static Result<ClassificationSummary> Create(int num_classes);
  // Clears all counts and sets the class count (same rule as the constructor).
  void Reset(int num_classes);
  // A summary from its counts (a post-processed private release, privacy/stats): count is the sum
  // of `confusion` (K*K), the histograms are K*kScoreBins each (class-major), as in the wire
  // format. Fails with the first Validate() error, so only a consistent summary is built.
  static Result<ClassificationSummary> FromCounts(int num_classes, uint64_t log_loss_units,
                                                  std::vector<uint64_t> confusion,
                                                  std::vector<uint64_t> positive,
                                                  std::vector<uint64_t> negative);
  // The largest log loss one row can add, in units (the bound Validate() checks against).
  static uint64_t MaxLossUnitsPerRow(int num_classes);

  // probs: K class probabilities (sum ~1) for one row; true_class in [0, K). Predicted = argmax
  // (first max).
  void Add(int true_class, const float* probs);
  // Batch version for speed: probs is K x n column-major (one column per row), labels length n.
  // Does not allocate.
  void AddBatch(const int* labels, const float* probs, size_t n);

  // Adds other's counts to ours. InvalidArgument if the class counts differ; other is validated
  // first (it usually comes from a peer); ResourceExhausted if a total would overflow. On error
  // *this is unchanged.
  Status Merge(const ClassificationSummary& other);

  // Sizes match num_classes, the confusion matrix sums to count, each class's histograms sum to its
  // row / non-row totals, and the log loss is within its per-row bound. Corruption otherwise.
  Status Validate() const;

  int num_classes() const { return num_classes_; }
  uint64_t count() const { return count_; }  // valid rows added
  uint64_t invalid_rows() const { return invalid_rows_; }
  // K*K, row = true class, column = predicted.
  const std::vector<uint64_t>& confusion() const { return confusion_; }
  // Histogram (kScoreBins buckets, see ScoreBin) of p_c over rows whose true class is c.
  std::span<const uint64_t> positive_histogram(int c) const;
  // Histogram of p_c over rows whose true class is not c.
  std::span<const uint64_t> negative_histogram(int c) const;
  // Sum over rows of the per-row log loss, in units of 1 / kLogLossUnitsPerNat nat, and in nats.
  uint64_t log_loss_units() const { return log_loss_units_; }
  double log_loss_sum() const { return static_cast<double>(log_loss_units_) / kLogLossUnitsPerNat; }

  // The histogram bucket of probability p: monotone in p; p <= 0 and NaN go to bucket 0, p >= 1 to
  // the last bucket.
  static int ScoreBin(float p);

  bool operator==(const ClassificationSummary& other) const = default;

  template <class Archive>
  void serialize(Archive& ar) {
    if constexpr (Archive::is_loading::value) {
      LoadFrom(ar);
    } else {
      SaveTo(ar);
    }
  }

 private:
  void AddRow(int true_class, const float* probs);

  // Binary archives get one memcpy-like call per array; other archives (JSON) one value per count.
  template <class Archive>
  static void Counts(Archive& ar, uint64_t* data, size_t n) {
    using Blob = cereal::BinaryData<uint64_t*>;
    constexpr bool kBinary = Archive::is_loading::value
                                 ? cereal::traits::is_input_serializable<Blob, Archive>::value
                                 : cereal::traits::is_output_serializable<Blob, Archive>::value;
    if constexpr (kBinary) {
      // An rvalue pointer, so that BinaryData's element type (and byte swapping) is uint64_t.
      ar(cereal::binary_data(static_cast<uint64_t*>(data), n * sizeof(uint64_t)));
    } else {
      for (size_t i = 0; i < n; ++i) ar(data[i]);
    }
  }

  template <class Archive>
  void SaveTo(Archive& ar) {
    uint32_t version = kFormatVersion;
    int32_t k = num_classes_;
    uint32_t bins = kScoreBins;
    ar(version, k, bins, count_, invalid_rows_, log_loss_units_);
    Counts(ar, confusion_.data(), confusion_.size());
    Counts(ar, positive_.data(), positive_.size());
    Counts(ar, negative_.data(), negative_.size());
  }

  template <class Archive>
  void LoadFrom(Archive& ar) {
    uint32_t version = 0;
    int32_t k = 0;
    uint32_t bins = 0;
    ar(version, k, bins);
    if (version != kFormatVersion) {
      throw cereal::Exception("ClassificationSummary: unsupported format version " +
                              std::to_string(version));
    }
    if (bins != static_cast<uint32_t>(kScoreBins)) {
      throw cereal::Exception("ClassificationSummary: " + std::to_string(bins) +
                              " score bins, this build uses " + std::to_string(kScoreBins));
    }
    // 0 classes is the empty (default-constructed) summary, which round-trips too.
    if (k != 0 && (k < 2 || k > kMaxClasses)) {
      throw cereal::Exception("ClassificationSummary: num_classes " + std::to_string(k) +
                              " outside [2, " + std::to_string(kMaxClasses) + "]");
    }
    ClassificationSummary tmp;
    tmp.num_classes_ = k;
    ar(tmp.count_, tmp.invalid_rows_, tmp.log_loss_units_);
    // Grow one class at a time so that truncated input fails before a large allocation.
    const size_t kk = static_cast<size_t>(k);
    for (std::vector<uint64_t>* v : {&tmp.confusion_, &tmp.positive_, &tmp.negative_}) {
      const size_t chunk = v == &tmp.confusion_ ? kk : static_cast<size_t>(kScoreBins);
      for (size_t c = 0; c < kk; ++c) {
        v->resize(v->size() + chunk);
        Counts(ar, v->data() + v->size() - chunk, chunk);
      }
    }
    *this = std::move(tmp);
  }

  int num_classes_ = 0;
  uint64_t count_ = 0;
  uint64_t invalid_rows_ = 0;
  uint64_t log_loss_units_ = 0;
  std::vector<uint64_t> confusion_;  // K*K, [true * K + predicted]
  std::vector<uint64_t> positive_;   // K*kScoreBins, [c * kScoreBins + bin]: true class == c
  std::vector<uint64_t> negative_;   // K*kScoreBins: true class != c
};

struct ClassMetrics {
  double precision = 0;  // tp / predicted; 0 when nothing was predicted as this class
  double recall = 0;     // tp / support; 0 when the class has no rows
  double f1 = 0;         // 2 tp / (2 tp + fp + fn); 0 when that is 0 / 0
  uint64_t support = 0;  // rows whose true class is this one
};

// Metrics over all K classes, as sklearn computes them with labels=range(K) and zero_division=0:
// a class with neither rows nor predictions has F1 0 and counts in the macro average.
// Undefined values (accuracy and log loss of 0 rows, kappa when chance agreement is 1, AUC without
// positives or negatives) are NaN, where sklearn would warn or raise.
struct ClassificationReport {
  uint64_t count = 0;         // valid rows
  uint64_t invalid_rows = 0;  // rows skipped by ClassificationSummary::Add
  double accuracy = 0;
  std::vector<ClassMetrics> per_class;
  double macro_f1 = 0;     // unweighted mean of per-class F1
  double weighted_f1 = 0;  // support-weighted mean of per-class F1 (0 when there are no rows)
  double cohen_kappa = 0;  // sklearn cohen_kappa_score, unweighted
  // Binary: AUC of p_1 (the positive class). K > 2: one-vs-rest macro average over the classes
  // that have both positives and negatives (sklearn raises instead when a class is absent).
  // Computed from the score histograms: within 1e-3 of the exact value (see ClassificationSummary).
  double roc_auc = 0;
  std::vector<double> per_class_roc_auc;  // one-vs-rest AUC of p_c; NaN when undefined
  double log_loss = 0;      // mean per-row log loss in nats (see ClassificationSummary)
  int positive_class = -1;  // K-1 for binary (the last class name in sorted order), -1 otherwise
  double positive_f1 = 0;   // F1 of positive_class for binary; macro F1 otherwise
  std::vector<uint64_t> confusion;  // K*K, row = true class, column = predicted
  int num_classes = 0;

  // class_names[c] names class c; missing names are written as the class index. NaN becomes null.
  nlohmann::json ToJson(const std::vector<std::string>& class_names) const;
  // sklearn's classification_report (4 digits), then kappa, AUC, log loss and the confusion matrix.
  std::string ToText(const std::vector<std::string>& class_names) const;
};

ClassificationReport ComputeReport(const ClassificationSummary& s);
// The report of the same rows under another decision rule (decision_rule.h): `confusion` (K*K,
// row = true class) replaces the summary's arg-max matrix in every metric computed from it; AUC
// and log loss stay the summary's. InvalidArgument when its size or its row sums (the rows of
// each true class) differ from the summary's.
Result<ClassificationReport> ComputeReport(const ClassificationSummary& s,
                                           const std::vector<uint64_t>& confusion);

// Exact reference implementations (used in tests and for small local evaluations):
// AUC of scores for labels01 (1 = positive, 0 = negative) with ties counted 1/2, as sklearn's
// roc_auc_score. NaN if the sizes differ, a label is not 0/1, a score is NaN, or either class is
// absent.
double ExactBinaryRocAuc(const std::vector<int>& labels01, const std::vector<double>& scores);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_METRICS_H_

#include "common/ml/metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <utility>

namespace fedseg::ml {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kBins = ClassificationSummary::kScoreBins;

ClassificationReport ComputeReportWith(const ClassificationSummary& s,
                                       const std::vector<uint64_t>& confusion);

bool ValidClassCount(int k) { return k >= 2 && k <= ClassificationSummary::kMaxClasses; }

// Mann-Whitney count over two histograms of the same score buckets: a positive above a negative
// counts 1, one in the same bucket 1/2.
double HistogramRocAuc(std::span<const uint64_t> pos, std::span<const uint64_t> neg) {
  double num_pos = 0, num_neg = 0, wins = 0;
  for (size_t b = 0; b < pos.size(); ++b) {
    const double p = static_cast<double>(pos[b]), n = static_cast<double>(neg[b]);
    wins += p * (num_neg + 0.5 * n);
    num_pos += p;
    num_neg += n;
  }
  if (num_pos == 0 || num_neg == 0) return kNaN;
  return wins / (num_pos * num_neg);
}

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n), '\0');
  va_start(args, fmt);
  std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

nlohmann::json NumberOrNull(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

}  // namespace

std::string ClassNameOr(const std::vector<std::string>& names, int c) {
  return c >= 0 && static_cast<size_t>(c) < names.size() ? names[static_cast<size_t>(c)]
                                                         : std::to_string(c);
}

ClassificationSummary::ClassificationSummary(int num_classes) { Reset(num_classes); }

// Largest log-loss contribution of one row, in units: q_y >= eps and sum_k q_k <= K, so the loss
// is at most log(K / eps); +1 covers the rounding to a whole unit.
uint64_t ClassificationSummary::MaxLossUnitsPerRow(int k) {
  const double nats =
      std::log(static_cast<double>(k)) - std::log(ClassificationSummary::kProbabilityEps);
  return static_cast<uint64_t>(std::ceil(nats * ClassificationSummary::kLogLossUnitsPerNat)) + 1;
}

Result<ClassificationSummary> ClassificationSummary::FromCounts(int num_classes,
                                                                uint64_t log_loss_units,
                                                                std::vector<uint64_t> confusion,
                                                                std::vector<uint64_t> positive,
                                                                std::vector<uint64_t> negative) {
  FEDSEG_ASSIGN_OR_RETURN(ClassificationSummary s, Create(num_classes));
  const size_t kk = static_cast<size_t>(num_classes);
  if (confusion.size() != kk * kk || positive.size() != kk * kBins ||
      negative.size() != kk * kBins) {
    return Status::InvalidArgument("classification summary counts do not match " +
                                   std::to_string(num_classes) + " classes");
  }
  unsigned __int128 total = 0;
  for (uint64_t v : confusion) total += v;
  if (total > UINT64_MAX) return Status::InvalidArgument("classification summary count overflows");
  s.count_ = static_cast<uint64_t>(total);
  s.log_loss_units_ = log_loss_units;
  s.confusion_ = std::move(confusion);
  s.positive_ = std::move(positive);
  s.negative_ = std::move(negative);
  FEDSEG_RETURN_IF_ERROR(s.Validate());
  return s;
}

Result<ClassificationSummary> ClassificationSummary::Create(int num_classes) {
  if (!ValidClassCount(num_classes)) {
    return Status::InvalidArgument("num_classes must be in [2, " + std::to_string(kMaxClasses) +
                                   "], got " + std::to_string(num_classes));
  }
  return ClassificationSummary(num_classes);
}

void ClassificationSummary::Reset(int num_classes) {
  num_classes_ = ValidClassCount(num_classes) ? num_classes : 0;
  const size_t k = static_cast<size_t>(num_classes_);
  count_ = invalid_rows_ = log_loss_units_ = 0;
  confusion_.assign(k * k, 0);
  positive_.assign(k * kBins, 0);
  negative_.assign(k * kBins, 0);
}

int ClassificationSummary::ScoreBin(float p) {
  const double x = p;
  if (!(x > 0)) return 0;  // also NaN
  if (x >= 1) return kBins - 1;
  const double t = (std::log(x / (1 - x)) - kLogitMin) * kBinsPerLogit;
  if (t <= 0) return 0;
  if (t >= kBins) return kBins - 1;
  return static_cast<int>(t);
}

std::span<const uint64_t> ClassificationSummary::positive_histogram(int c) const {
  if (c < 0 || c >= num_classes_) return {};
  return std::span<const uint64_t>(positive_).subspan(static_cast<size_t>(c) * kBins, kBins);
}

std::span<const uint64_t> ClassificationSummary::negative_histogram(int c) const {
  if (c < 0 || c >= num_classes_) return {};
  return std::span<const uint64_t>(negative_).subspan(static_cast<size_t>(c) * kBins, kBins);
}

inline void ClassificationSummary::AddRow(int true_class, const float* probs) {
  const int k = num_classes_;
  if (true_class < 0 || true_class >= k) {
    ++invalid_rows_;
    return;
  }
  // One pass for validity, argmax (first max, as numpy) and the clipped sum for renormalising.
  int predicted = 0;
  float best = probs[0];
  double clipped_sum = 0;
  for (int c = 0; c < k; ++c) {
    const float v = probs[c];
    if (!std::isfinite(v)) {
      ++invalid_rows_;
      return;
    }
    if (v > best) {
      best = v;
      predicted = c;
    }
    clipped_sum += std::clamp<double>(v, kProbabilityEps, 1 - kProbabilityEps);
  }
  ++count_;
  ++confusion_[static_cast<size_t>(true_class) * k + predicted];
  for (int c = 0; c < k; ++c) {
    std::vector<uint64_t>& hist = c == true_class ? positive_ : negative_;
    ++hist[static_cast<size_t>(c) * kBins + ScoreBin(probs[c])];
  }
  // q_y <= sum, so the loss is >= 0 (or -0.0, which rounds to 0).
  const double q = std::clamp<double>(probs[true_class], kProbabilityEps, 1 - kProbabilityEps);
  const double loss = -std::log(q / clipped_sum);
  log_loss_units_ += static_cast<uint64_t>(std::llround(loss * kLogLossUnitsPerNat));
}

void ClassificationSummary::Add(int true_class, const float* probs) { AddRow(true_class, probs); }

void ClassificationSummary::AddBatch(const int* labels, const float* probs, size_t n) {
  const size_t k = static_cast<size_t>(num_classes_);
  if (k == 0) {
    invalid_rows_ += n;
    return;
  }
  for (size_t i = 0; i < n; ++i) AddRow(labels[i], probs + i * k);
}

Status ClassificationSummary::Merge(const ClassificationSummary& other) {
  if (other.num_classes_ != num_classes_) {
    return Status::InvalidArgument("cannot merge a classification summary of " +
                                   std::to_string(other.num_classes_) + " classes into one of " +
                                   std::to_string(num_classes_));
  }
  FEDSEG_RETURN_IF_ERROR(other.Validate().WithContext("merging classification summary"));
  // Every count in a valid summary is bounded by its row count (and the log loss by its own
  // check), so checking these three totals rules out overflow everywhere.
  uint64_t count, invalid, loss;
  if (__builtin_add_overflow(count_, other.count_, &count) ||
      __builtin_add_overflow(invalid_rows_, other.invalid_rows_, &invalid) ||
      __builtin_add_overflow(log_loss_units_, other.log_loss_units_, &loss)) {
    return Status::ResourceExhausted("merging classification summary: a total overflows uint64");
  }
  count_ = count;
  invalid_rows_ = invalid;
  log_loss_units_ = loss;
  for (size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += other.confusion_[i];
  for (size_t i = 0; i < positive_.size(); ++i) positive_[i] += other.positive_[i];
  for (size_t i = 0; i < negative_.size(); ++i) negative_[i] += other.negative_[i];
  return Status::OK();
}

Status ClassificationSummary::Validate() const {
  auto corrupt = [](const std::string& msg) {
    return Status::Corruption("classification summary: " + msg);
  };
  const int k = num_classes_;
  if (!ValidClassCount(k)) {
    return corrupt("num_classes " + std::to_string(k) + " outside [2, " +
                   std::to_string(kMaxClasses) + "]");
  }
  const size_t kk = static_cast<size_t>(k);
  if (confusion_.size() != kk * kk || positive_.size() != kk * kBins ||
      negative_.size() != kk * kBins) {
    return corrupt("array sizes do not match " + std::to_string(k) + " classes");
  }
  // 128-bit sums: hostile counts near 2^64 must not wrap around into a consistent-looking total.
  using u128 = unsigned __int128;
  u128 total = 0;
  for (uint64_t v : confusion_) total += v;
  if (total != count_) {
    return corrupt("confusion matrix does not sum to count " + std::to_string(count_));
  }
  for (size_t c = 0; c < kk; ++c) {
    u128 row = 0, pos = 0, neg = 0;
    for (size_t j = 0; j < kk; ++j) row += confusion_[c * kk + j];
    for (size_t b = 0; b < static_cast<size_t>(kBins); ++b) {
      pos += positive_[c * kBins + b];
      neg += negative_[c * kBins + b];
    }
    // row <= total == count_, so count_ - row cannot wrap.
    if (pos != row) {
      return corrupt("class " + std::to_string(c) + " score histogram of its own rows does not " +
                     "sum to its confusion-matrix row");
    }
    if (neg != count_ - row) {
      return corrupt("class " + std::to_string(c) + " score histogram of other rows does not " +
                     "sum to count minus its rows");
    }
  }
  if (static_cast<u128>(log_loss_units_) > static_cast<u128>(count_) * MaxLossUnitsPerRow(k)) {
    return corrupt("log loss total exceeds its bound for " + std::to_string(count_) + " rows");
  }
  return Status::OK();
}

ClassificationReport ComputeReport(const ClassificationSummary& s) {
  return ComputeReportWith(s, s.confusion());
}

Result<ClassificationReport> ComputeReport(const ClassificationSummary& s,
                                           const std::vector<uint64_t>& confusion) {
  const size_t kk = static_cast<size_t>(s.num_classes());
  if (confusion.size() != kk * kk) {
    return Status::InvalidArgument("a confusion matrix of " + std::to_string(confusion.size()) +
                                   " cells for " + std::to_string(kk) + " classes");
  }
  const std::vector<uint64_t>& own = s.confusion();
  for (size_t t = 0; t < kk; ++t) {
    uint64_t a = 0, b = 0;
    for (size_t p = 0; p < kk; ++p) {
      a += confusion[t * kk + p];
      b += own[t * kk + p];
    }
    if (a != b) {
      return Status::InvalidArgument("the confusion matrix holds " + std::to_string(a) +
                                     " rows of class " + std::to_string(t) + ", the summary " +
                                     std::to_string(b));
    }
  }
  return ComputeReportWith(s, confusion);
}

namespace {

ClassificationReport ComputeReportWith(const ClassificationSummary& s,
                                       const std::vector<uint64_t>& confusion) {
  ClassificationReport r;
  const int k = s.num_classes();
  const size_t kk = static_cast<size_t>(k);
  const uint64_t n = s.count();
  r.num_classes = k;
  r.count = n;
  r.invalid_rows = s.invalid_rows();
  r.confusion = confusion;
  r.positive_class = k == 2 ? 1 : -1;
  r.accuracy = r.cohen_kappa = r.roc_auc = r.log_loss = kNaN;
  if (k == 0) {
    r.macro_f1 = r.weighted_f1 = r.positive_f1 = kNaN;
    return r;
  }

  const std::vector<uint64_t>& cm = r.confusion;
  std::vector<uint64_t> predicted(kk, 0);
  uint64_t trace = 0;
  r.per_class.resize(kk);
  for (size_t t = 0; t < kk; ++t) {
    for (size_t p = 0; p < kk; ++p) {
      r.per_class[t].support += cm[t * kk + p];
      predicted[p] += cm[t * kk + p];
    }
    trace += cm[t * kk + t];
  }
  double f1_sum = 0, weighted_f1_sum = 0, chance_agreement = 0;
  for (size_t c = 0; c < kk; ++c) {
    ClassMetrics& m = r.per_class[c];
    const uint64_t tp = cm[c * kk + c];
    m.precision = Ratio(tp, predicted[c]);
    m.recall = Ratio(tp, m.support);
    // 2tp / (2tp + fp + fn) equals 2PR / (P + R) and is 0 exactly when sklearn's is 0 or 0/0.
    const double f1_denominator =
        static_cast<double>(m.support) + static_cast<double>(predicted[c]);
    m.f1 = f1_denominator == 0 ? 0.0 : 2 * static_cast<double>(tp) / f1_denominator;
    f1_sum += m.f1;
    weighted_f1_sum += m.f1 * static_cast<double>(m.support);
    chance_agreement += static_cast<double>(m.support) * static_cast<double>(predicted[c]);
  }
  r.macro_f1 = f1_sum / static_cast<double>(k);
  if (n > 0) {
    const double dn = static_cast<double>(n);
    r.weighted_f1 = weighted_f1_sum / dn;
    r.accuracy = static_cast<double>(trace) / dn;
    r.log_loss = s.log_loss_sum() / dn;
    // sklearn: kappa = 1 - sum(W * C) / sum(W * E) with W = 1 - I and E the outer product of the
    // marginals / n; i.e. 1 - (n - trace) / (n - sum_c rows_c * cols_c / n). 0/0 (both truth and
    // prediction all one class) is NaN, as in sklearn.
    const double disagreement = dn - static_cast<double>(trace);
    const double expected_disagreement = dn - chance_agreement / dn;
    r.cohen_kappa = expected_disagreement == 0 ? kNaN : 1 - disagreement / expected_disagreement;
  }

  r.per_class_roc_auc.resize(kk);
  double auc_sum = 0;
  int auc_classes = 0;
  for (int c = 0; c < k; ++c) {
    const double auc = HistogramRocAuc(s.positive_histogram(c), s.negative_histogram(c));
    r.per_class_roc_auc[static_cast<size_t>(c)] = auc;
    if (!std::isnan(auc)) {
      auc_sum += auc;
      ++auc_classes;
    }
  }
  if (k == 2) {
    r.roc_auc = r.per_class_roc_auc[1];
    r.positive_f1 = r.per_class[1].f1;
  } else {
    r.roc_auc = auc_classes > 0 ? auc_sum / auc_classes : kNaN;
    r.positive_f1 = r.macro_f1;
  }
  return r;
}

}  // namespace

nlohmann::json ClassificationReport::ToJson(const std::vector<std::string>& class_names) const {
  nlohmann::json j;
  j["count"] = count;
  j["invalid_rows"] = invalid_rows;
  j["num_classes"] = num_classes;
  j["accuracy"] = NumberOrNull(accuracy);
  j["macro_f1"] = NumberOrNull(macro_f1);
  j["weighted_f1"] = NumberOrNull(weighted_f1);
  j["cohen_kappa"] = NumberOrNull(cohen_kappa);
  j["roc_auc"] = NumberOrNull(roc_auc);
  j["log_loss"] = NumberOrNull(log_loss);
  j["positive_class"] =
      positive_class >= 0 ? nlohmann::json(ClassNameOr(class_names, positive_class)) : nullptr;
  j["positive_f1"] = NumberOrNull(positive_f1);
  nlohmann::json classes = nlohmann::json::array();
  for (size_t c = 0; c < per_class.size(); ++c) {
    const ClassMetrics& m = per_class[c];
    classes.push_back({{"name", ClassNameOr(class_names, static_cast<int>(c))},
                       {"precision", NumberOrNull(m.precision)},
                       {"recall", NumberOrNull(m.recall)},
                       {"f1", NumberOrNull(m.f1)},
                       {"support", m.support},
                       {"roc_auc", c < per_class_roc_auc.size() ? NumberOrNull(per_class_roc_auc[c])
                                                                : nlohmann::json()}});
  }
  j["per_class"] = std::move(classes);
  nlohmann::json matrix = nlohmann::json::array();
  const size_t k = static_cast<size_t>(std::max(num_classes, 0));
  for (size_t t = 0; t < k && confusion.size() == k * k; ++t) {
    matrix.push_back(
        std::vector<uint64_t>(confusion.begin() + t * k, confusion.begin() + (t + 1) * k));
  }
  j["confusion"] = std::move(matrix);  // rows = true class, columns = predicted class
  return j;
}

std::string ClassificationReport::ToText(const std::vector<std::string>& class_names) const {
  // Layout copied from sklearn.metrics.classification_report (digits=4), so the two can be diffed.
  const int k = static_cast<int>(per_class.size());
  std::vector<std::string> names;
  for (int c = 0; c < k; ++c) names.push_back(ClassNameOr(class_names, c));
  int width = 12;  // strlen("weighted avg")
  for (const std::string& name : names) width = std::max(width, static_cast<int>(name.size()));

  std::string out = Format("%*s ", width, "");
  for (const char* h : {"precision", "recall", "f1-score", "support"}) out += Format(" %9s", h);
  out += "\n\n";
  auto row = [&](const std::string& name, double p, double r, double f, uint64_t support) {
    out += Format("%*s  %9.4f %9.4f %9.4f %9" PRIu64 "\n", width, name.c_str(), p, r, f, support);
  };
  double macro_p = 0, macro_r = 0, weighted_p = 0, weighted_r = 0;
  for (int c = 0; c < k; ++c) {
    const ClassMetrics& m = per_class[static_cast<size_t>(c)];
    row(names[static_cast<size_t>(c)], m.precision, m.recall, m.f1, m.support);
    macro_p += m.precision / k;
    macro_r += m.recall / k;
    weighted_p += m.precision * static_cast<double>(m.support);
    weighted_r += m.recall * static_cast<double>(m.support);
  }
  const double dn = static_cast<double>(count);
  weighted_p = count > 0 ? weighted_p / dn : 0;
  weighted_r = count > 0 ? weighted_r / dn : 0;
  out += "\n";
  out += Format("%*s  %9s %9s %9.4f %9" PRIu64 "\n", width, "accuracy", "", "", accuracy, count);
  row("macro avg", macro_p, macro_r, macro_f1, count);
  row("weighted avg", weighted_p, weighted_r, weighted_f1, count);

  out += "\n";
  out += Format("%*s  %9.4f\n", width, "cohen kappa", cohen_kappa);
  out += Format("%*s  %9.4f  %s\n", width, "roc auc", roc_auc,
                positive_class >= 0
                    ? ("score: p(" + ClassNameOr(class_names, positive_class) + ")").c_str()
                    : "one-vs-rest macro average");
  out += Format("%*s  %9.4f\n", width, "log loss", log_loss);
  if (invalid_rows > 0) out += Format("%*s  %9" PRIu64 "\n", width, "invalid rows", invalid_rows);

  const size_t kk = static_cast<size_t>(k);
  if (confusion.size() != kk * kk || k == 0) return out;
  out += "\nconfusion matrix (rows: true class, columns: predicted class)\n";
  int label_width = 0, cell_width = 1;
  for (int c = 0; c < k; ++c) {
    label_width = std::max(label_width, static_cast<int>(names[static_cast<size_t>(c)].size()));
    cell_width = std::max(cell_width, static_cast<int>(names[static_cast<size_t>(c)].size()));
  }
  for (uint64_t v : confusion)
    cell_width = std::max(cell_width, static_cast<int>(std::to_string(v).size()));
  out += Format("%*s", label_width, "");
  for (int c = 0; c < k; ++c)
    out += Format("  %*s", cell_width, names[static_cast<size_t>(c)].c_str());
  out += "\n";
  for (size_t t = 0; t < kk; ++t) {
    out += Format("%*s", label_width, names[t].c_str());
    for (size_t p = 0; p < kk; ++p) out += Format("  %*" PRIu64, cell_width, confusion[t * kk + p]);
    out += "\n";
  }
  return out;
}

double ExactBinaryRocAuc(const std::vector<int>& labels01, const std::vector<double>& scores) {
  if (labels01.size() != scores.size()) return kNaN;
  std::vector<std::pair<double, int>> rows;
  rows.reserve(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    if ((labels01[i] != 0 && labels01[i] != 1) || std::isnan(scores[i])) return kNaN;
    rows.emplace_back(scores[i], labels01[i]);
  }
  std::sort(rows.begin(), rows.end());
  // Walk groups of equal score in ascending order: each positive beats the negatives below its
  // group and ties with those in it.
  double negatives_below = 0, wins = 0, num_pos = 0;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    double pos = 0, neg = 0;
    for (; j < rows.size() && rows[j].first == rows[i].first; ++j)
      (rows[j].second ? pos : neg) += 1;
    wins += pos * (negatives_below + 0.5 * neg);
    negatives_below += neg;
    num_pos += pos;
    i = j;
  }
  if (num_pos == 0 || negatives_below == 0) return kNaN;
  return wins / (num_pos * negatives_below);
}

}  // namespace fedseg::ml

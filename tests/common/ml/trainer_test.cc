// The local trainer (common/ml/trainer.h): it learns, stops early and restores the best weights,
// class weights and re-sampling do what they say, bad input is refused before any weight moves,
// and a seeded run is reproducible bit for bit.
#include "common/ml/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace fedseg::ml {
namespace {

// Two Gaussian blobs in 2-D, class 1 centred at (+d, +d) and class 0 at (-d, -d); `positives` of
// the `n` rows are class 1. Deterministic in `seed`.
data::EncodedData Blobs(int n, int positives, float d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  data::EncodedData out;
  out.x.resize(2, n);
  out.y.resize(n);
  for (int i = 0; i < n; ++i) {
    const int c = i < positives ? 1 : 0;
    const float centre = c == 1 ? d : -d;
    out.x(0, i) = centre + noise(rng);
    out.x(1, i) = centre + noise(rng);
    out.y[i] = c;
  }
  return out;
}

Mlp NewModel(uint64_t init_seed = 1) {
  auto m = Mlp::Create(ModelSpec{2, {8}, 2});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  m->InitRandom(init_seed);
  return std::move(*m);
}

TrainConfig Config(int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch_size = 16;
  c.optimizer.learning_rate = 0.02;
  c.seed = 5;
  c.threads = 1;
  return c;
}

double Accuracy(const Mlp& model, const data::EncodedData& d) {
  Eigen::MatrixXf probs;
  model.Predict(d.x, &probs);
  int right = 0;
  for (size_t i = 0; i < d.rows(); ++i) {
    const int predicted = probs(1, static_cast<Eigen::Index>(i)) > 0.5f ? 1 : 0;
    right += predicted == d.y[i];
  }
  return static_cast<double>(right) / static_cast<double>(d.rows());
}

// Mean predicted probability of class 1 over the rows.
double MeanPositive(const Mlp& model, const data::EncodedData& d) {
  Eigen::MatrixXf probs;
  model.Predict(d.x, &probs);
  return static_cast<double>(probs.row(1).mean());
}

bool SameBits(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}

TEST(TrainerTest, LossDecreasesOnSeparableData) {
  const data::EncodedData train = Blobs(200, 100, 2.0f, 11);
  Mlp model = NewModel();
  const double before = MeanLoss(model, train);
  int callbacks = 0;
  auto report = Train(model, train, nullptr, Config(20),
                      [&](const EpochReport& e) { EXPECT_EQ(e.epoch, ++callbacks); });
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(callbacks, 20);
  EXPECT_EQ(report->epochs_run, 20);
  EXPECT_EQ(report->best_epoch, 20);
  EXPECT_FALSE(report->stopped_early);
  EXPECT_EQ(report->examples_seen, 20 * 200);
  ASSERT_EQ(report->history.size(), 20u);
  EXPECT_LT(report->history.back().train_loss, 0.5 * report->history.front().train_loss);
  EXPECT_TRUE(std::isnan(report->history.front().validation_loss));  // no validation set
  const double after = MeanLoss(model, train);
  EXPECT_LT(after, 0.1) << "before " << before;
  EXPECT_LT(after, before);
  EXPECT_GE(Accuracy(model, train), 0.99);
}

TEST(TrainerTest, ZeroEpochsLeavesTheModelAsItWas) {
  const data::EncodedData train = Blobs(40, 20, 2.0f, 1);
  Mlp model = NewModel();
  const Eigen::VectorXf before = model.params();
  auto report = Train(model, train, nullptr, Config(0));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->epochs_run, 0);
  EXPECT_EQ(report->examples_seen, 0);
  EXPECT_TRUE(report->history.empty());
  EXPECT_TRUE(SameBits(model.params(), before));
}

// A validation set whose labels are the opposite of the training set's gets worse with every
// epoch that improves the training loss: early stopping must stop after `patience` epochs without
// a better validation loss and put back the weights of the best epoch.
TEST(TrainerTest, EarlyStoppingStopsAndRestoresTheBestWeights) {
  const data::EncodedData train = Blobs(200, 100, 2.0f, 11);
  data::EncodedData flipped = Blobs(100, 50, 2.0f, 12);
  for (int& y : flipped.y) y = 1 - y;

  TrainConfig config = Config(100);
  config.early_stopping_patience = 3;
  Mlp model = NewModel();
  auto report = Train(model, train, &flipped, config);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->stopped_early);
  EXPECT_LT(report->epochs_run, 100);
  EXPECT_EQ(report->epochs_run, report->best_epoch + 3);
  ASSERT_EQ(report->history.size(), static_cast<size_t>(report->epochs_run));
  const double best = report->history[report->best_epoch - 1].validation_loss;
  for (const EpochReport& e : report->history) {
    EXPECT_FALSE(std::isnan(e.validation_loss));
    EXPECT_GE(e.validation_loss, best);
  }
  // The model holds the best epoch's weights, not the last epoch's.
  EXPECT_DOUBLE_EQ(MeanLoss(model, flipped), best);
  EXPECT_LT(MeanLoss(model, flipped), report->history.back().validation_loss);

  // Without a validation set the patience does nothing.
  Mlp plain = NewModel();
  config.epochs = 10;
  auto no_validation = Train(plain, train, nullptr, config);
  ASSERT_TRUE(no_validation.ok());
  EXPECT_FALSE(no_validation->stopped_early);
  EXPECT_EQ(no_validation->epochs_run, 10);
  EXPECT_EQ(no_validation->best_epoch, 10);
}

TEST(TrainerTest, BalancedClassWeightsAreScikitLearns) {
  // n / (K * n_c): 4 rows, 2 classes, 3 of class 0 and 1 of class 1.
  const std::vector<float> w = BalancedClassWeights({0, 0, 1, 0}, 2);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_FLOAT_EQ(w[0], 4.0f / 6.0f);
  EXPECT_FLOAT_EQ(w[1], 2.0f);
  // An absent class weighs 0.
  const std::vector<float> absent = BalancedClassWeights({0, 2, 2, 0}, 3);
  EXPECT_FLOAT_EQ(absent[0], 4.0f / 6.0f);
  EXPECT_FLOAT_EQ(absent[1], 0.0f);
  EXPECT_FLOAT_EQ(absent[2], 4.0f / 6.0f);
}

// Overlapping, imbalanced classes (10% positive): unweighted training predicts class 1 rarely;
// balanced class weights and over-/under-sampling each push the predicted rate towards 1/2.
TEST(TrainerTest, ClassWeightsAndSamplingShiftTheModelTowardsTheMinority) {
  const data::EncodedData train = Blobs(400, 40, 0.5f, 21);
  auto run = [&](const std::string& class_weight, const std::string& sampling) {
    TrainConfig config = Config(15);
    config.class_weight = class_weight;
    config.sampling = sampling;
    Mlp model = NewModel();
    auto report = Train(model, train, nullptr, config);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return std::make_pair(MeanPositive(model, train), report.ok() ? report->examples_seen : -1);
  };
  const auto [plain, plain_seen] = run("none", "none");
  const auto [balanced, balanced_seen] = run("balanced", "none");
  const auto [over, over_seen] = run("none", "over");
  const auto [under, under_seen] = run("none", "under");
  EXPECT_LT(plain, 0.2);
  EXPECT_GT(balanced, plain + 0.15);
  EXPECT_GT(over, plain + 0.15);
  EXPECT_GT(under, plain + 0.15);
  // Rows per epoch: all 400; every class up to the majority's 360; every class down to 40.
  EXPECT_EQ(plain_seen, 15 * 400);
  EXPECT_EQ(balanced_seen, 15 * 400);
  EXPECT_EQ(over_seen, 15 * 2 * 360);
  EXPECT_EQ(under_seen, 15 * 2 * 40);
}

TEST(TrainerTest, InvalidConfigIsRefusedWithItsReason) {
  const data::EncodedData train = Blobs(40, 20, 2.0f, 1);
  struct Case {
    std::function<void(TrainConfig&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](TrainConfig& c) { c.epochs = -1; }, "epochs must be in [0, 100000], got -1"},
      {[](TrainConfig& c) { c.epochs = 100001; }, "epochs must be in [0, 100000], got 100001"},
      {[](TrainConfig& c) { c.batch_size = 0; }, "batch size must be in [1, 1048576], got 0"},
      {[](TrainConfig& c) { c.class_weight = "auto"; },
       "class weight must be 'none' or 'balanced', got 'auto'"},
      {[](TrainConfig& c) { c.sampling = "smote"; },
       "sampling must be 'none', 'over' or 'under', got 'smote'"},
      {[](TrainConfig& c) { c.early_stopping_patience = -1; },
       "early stopping patience must be >= 0"},
      {[](TrainConfig& c) { c.threads = -2; }, "threads must be >= 0"},
  };
  for (const Case& k : cases) {
    TrainConfig config = Config(3);
    k.change(config);
    Mlp model = NewModel();
    const Eigen::VectorXf before = model.params();
    auto report = Train(model, train, nullptr, config);
    ASSERT_FALSE(report.ok()) << k.message;
    EXPECT_TRUE(report.status().IsInvalidArgument()) << report.status().ToString();
    EXPECT_EQ(report.status().message(), k.message);
    EXPECT_TRUE(SameBits(model.params(), before)) << k.message;
  }
  TrainConfig bad_optimizer = Config(3);
  bad_optimizer.optimizer.name = "rmsprop";
  Mlp model = NewModel();
  auto report = Train(model, train, nullptr, bad_optimizer);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsInvalidArgument()) << report.status().ToString();
  EXPECT_NE(report.status().message().find("rmsprop"), std::string::npos)
      << report.status().message();
}

TEST(TrainerTest, InvalidDataIsRefusedWithItsReason) {
  const data::EncodedData good = Blobs(40, 20, 2.0f, 1);
  struct Case {
    data::EncodedData data;
    std::string message;
  };
  std::vector<Case> cases;
  {
    data::EncodedData d;
    d.x = Eigen::MatrixXf::Zero(3, 4);
    d.y = {0, 1, 0, 1};
    cases.push_back({d, "training data has 3 features, the model expects 2"});
  }
  {
    data::EncodedData d;
    d.x.resize(2, 0);
    cases.push_back({d, "no training rows"});
  }
  {
    data::EncodedData d = good;
    d.y.clear();
    cases.push_back({d, "training data has no labels"});
  }
  {
    data::EncodedData d = good;
    d.y[7] = 2;
    cases.push_back({d, "label index 2 out of range [0, 2)"});
  }
  {
    data::EncodedData d = good;
    d.y[3] = -1;
    cases.push_back({d, "label index -1 out of range [0, 2)"});
  }
  {
    data::EncodedData d = good;
    d.x(1, 5) = std::numeric_limits<float>::infinity();
    cases.push_back({d, "training data has non-finite features"});
  }
  {
    data::EncodedData d = good;
    d.x(0, 0) = std::nanf("");
    cases.push_back({d, "training data has non-finite features"});
  }
  for (const Case& k : cases) {
    Mlp model = NewModel();
    const Eigen::VectorXf before = model.params();
    auto report = Train(model, k.data, nullptr, Config(3));
    ASSERT_FALSE(report.ok()) << k.message;
    EXPECT_TRUE(report.status().IsInvalidArgument()) << report.status().ToString();
    EXPECT_EQ(report.status().message(), k.message);
    EXPECT_TRUE(SameBits(model.params(), before)) << k.message;
    EXPECT_EQ(ValidateTrainingData(model.spec(), k.data).message(), k.message);
  }
  EXPECT_TRUE(ValidateTrainingData(ModelSpec{2, {8}, 2}, good).ok());
}

TEST(TrainerTest, DivergenceIsAFailedPreconditionNotNaNWeights) {
  const data::EncodedData train = Blobs(100, 50, 2.0f, 3);
  TrainConfig config = Config(5);
  config.optimizer.name = "sgd";
  config.optimizer.learning_rate = 1e30;
  Mlp model = NewModel();
  auto report = Train(model, train, nullptr, config);
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(report.status().IsFailedPrecondition()) << report.status().ToString();
  EXPECT_NE(report.status().message().find("training diverged at epoch 1 (non-finite weights)"),
            std::string::npos)
      << report.status().message();
}

TEST(TrainerTest, ASeededRunIsReproducibleBitForBit) {
  const data::EncodedData train = Blobs(300, 60, 1.0f, 31);
  const data::EncodedData validation = Blobs(100, 20, 1.0f, 32);
  TrainConfig config = Config(8);
  config.sampling = "over";
  config.class_weight = "balanced";
  config.early_stopping_patience = 2;
  auto run = [&](uint64_t seed) {
    TrainConfig c = config;
    c.seed = seed;
    Mlp model = NewModel(/*init_seed=*/9);
    auto report = Train(model, train, &validation, c);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return std::make_pair(model.params(), report.ok() ? report->history : std::vector<EpochReport>{});
  };
  const auto [a, history_a] = run(77);
  const auto [b, history_b] = run(77);
  EXPECT_TRUE(SameBits(a, b)) << "two runs with the same seed differ";
  ASSERT_EQ(history_a.size(), history_b.size());
  for (size_t i = 0; i < history_a.size(); ++i) {
    EXPECT_EQ(history_a[i].train_loss, history_b[i].train_loss) << "epoch " << i + 1;
    EXPECT_EQ(history_a[i].validation_loss, history_b[i].validation_loss) << "epoch " << i + 1;
  }
  const auto [c, history_c] = run(78);
  EXPECT_FALSE(SameBits(a, c)) << "the seed does not reach shuffling and sampling";
}

// FedProx (TrainConfig::proximal_mu). mu = 0 must be today's training bit for bit: the term is
// skipped, not added as zero (0 * inf would be NaN, and -0.0f + 0.0f is not -0.0f).
TEST(TrainerTest, ProximalMuZeroIsPlainTrainingBitForBit) {
  const data::EncodedData train = Blobs(300, 60, 1.0f, 41);
  TrainConfig plain = Config(6);
  plain.class_weight = "balanced";
  TrainConfig zero = plain;
  zero.proximal_mu = 0.0;
  TrainConfig tiny = plain;
  tiny.proximal_mu = 1e-3;
  Mlp a = NewModel(3), b = NewModel(3), c = NewModel(3);
  ASSERT_TRUE(Train(a, train, nullptr, plain).ok());
  ASSERT_TRUE(Train(b, train, nullptr, zero).ok());
  ASSERT_TRUE(Train(c, train, nullptr, tiny).ok());
  EXPECT_TRUE(SameBits(a.params(), b.params()));
  // The term reaches the update at all (a small mu changes the bits).
  EXPECT_FALSE(SameBits(a.params(), c.params()));
}

// The proximal term pulls the local model towards where it started: on the same data, seed and
// initialisation, the distance to w0 shrinks as mu grows, and the data loss stays sensible.
TEST(TrainerTest, ProximalTermKeepsTheModelCloserToTheRoundStart) {
  // Skewed data (as a region with few positives) and enough epochs to drift.
  const data::EncodedData train = Blobs(400, 40, 1.5f, 43);
  const Eigen::VectorXf w0 = NewModel(4).params();
  std::vector<double> distance;
  for (double mu : {0.0, 0.1, 1.0}) {
    TrainConfig config = Config(15);
    config.proximal_mu = mu;
    Mlp model = NewModel(4);
    auto report = Train(model, train, nullptr, config);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    distance.push_back((model.params() - w0).norm());
    EXPECT_LT(report->history.back().train_loss, MeanLoss(NewModel(4), train)) << "mu " << mu;
  }
  EXPECT_LT(distance[1], distance[0]) << "mu 0.1 vs 0";
  EXPECT_LT(distance[2], distance[1]) << "mu 1 vs 0.1";
}

TEST(TrainerTest, ProximalMuMustBeFiniteAndNonNegative) {
  const data::EncodedData train = Blobs(50, 25, 2.0f, 3);
  for (double mu : {-0.1, std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::infinity()}) {
    TrainConfig config = Config(2);
    config.proximal_mu = mu;
    Mlp model = NewModel();
    const Eigen::VectorXf before = model.params();
    auto report = Train(model, train, nullptr, config);
    ASSERT_FALSE(report.ok()) << "mu " << mu;
    EXPECT_TRUE(report.status().IsInvalidArgument());
    EXPECT_NE(report.status().message().find("proximal_mu must be finite and >= 0"),
              std::string::npos)
        << report.status().message();
    EXPECT_TRUE(SameBits(model.params(), before)) << "weights moved before the refusal";
  }
}

}  // namespace
}  // namespace fedseg::ml

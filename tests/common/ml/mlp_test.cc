#include "common/ml/mlp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/ml/trainer.h"

namespace fedseg::ml {
namespace {

// Loss sum_i coef_i * CE_i computed in double precision from scratch (independent of the workspace).
double ReferenceLoss(const Mlp& m, const Eigen::MatrixXf& x, const std::vector<int>& y,
                     const std::vector<float>& coef) {
  const ModelSpec& s = m.spec();
  Eigen::MatrixXd a = x.cast<double>();
  for (int l = 0; l < s.num_layers(); ++l) {
    Eigen::MatrixXd z = m.W(l).cast<double>() * a;
    z.colwise() += m.b(l).cast<double>();
    if (l < s.num_layers() - 1) z = z.cwiseMax(0.0);
    a = z;
  }
  double loss = 0;
  for (Eigen::Index i = 0; i < a.cols(); ++i) {
    double mx = a.col(i).maxCoeff();
    double lse = mx + std::log((a.col(i).array() - mx).exp().sum());
    loss += coef[i] * (lse - a(y[i], i));
  }
  return loss;
}

struct Fixture {
  Mlp model;
  Eigen::MatrixXf x;
  std::vector<int> y;
  std::vector<float> coef;
};

Fixture Make(ModelSpec spec, int batch, uint64_t seed) {
  Fixture f;
  f.model = *Mlp::Create(spec);
  f.model.InitRandom(seed);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> n(0, 1);
  f.x.resize(spec.input_dim, batch);
  for (Eigen::Index i = 0; i < f.x.size(); ++i) f.x.data()[i] = n(rng);
  std::uniform_int_distribution<int> c(0, spec.num_classes - 1);
  std::uniform_real_distribution<float> w(0.2f, 1.5f);
  for (int i = 0; i < batch; ++i) {
    f.y.push_back(c(rng));
    f.coef.push_back(w(rng));
  }
  return f;
}

// Central finite differences in double precision against the analytic gradient of every
// parameter: each dense layer's weights and biases, and the softmax cross-entropy on top.
void CheckGradient(const ModelSpec& spec, int batch) {
  Fixture f = Make(spec, batch, 7);
  MlpWorkspace ws;
  double loss = ws.Forward(f.model, f.x, f.y.data(), f.coef.data());
  EXPECT_NEAR(loss, ReferenceLoss(f.model, f.x, f.y, f.coef), 1e-4 * std::max(1.0, loss));
  ws.Backward(f.model);
  Eigen::VectorXf grad;
  ws.Gradient(f.model, &grad);
  ASSERT_EQ(grad.size(), spec.num_params());
  const float h = 1e-3f;
  int checked = 0;
  for (Eigen::Index p = 0; p < grad.size(); ++p) {
    Mlp plus = f.model, minus = f.model;
    plus.params()[p] += h;
    minus.params()[p] -= h;
    // Divide by the step actually taken in float, so rounding of the parameter does not bias it.
    const double step = static_cast<double>(plus.params()[p]) - minus.params()[p];
    double num =
        (ReferenceLoss(plus, f.x, f.y, f.coef) - ReferenceLoss(minus, f.x, f.y, f.coef)) / step;
    EXPECT_NEAR(grad[p], num, 1e-3 + 1e-3 * std::abs(num)) << "parameter " << p << " of "
                                                            << spec.ToString();
    ++checked;
  }
  EXPECT_EQ(checked, spec.num_params());
}

TEST(MlpGradientTest, SoftmaxCrossEntropyOnly) { CheckGradient({5, {}, 3}, 6); }
TEST(MlpGradientTest, OneHiddenLayer) { CheckGradient({3, {10}, 2}, 8); }
TEST(MlpGradientTest, TwoHiddenLayersFourClasses) { CheckGradient({6, {7, 5}, 4}, 9); }

// FedProx's objective, F(w) = sum_i coef_i CE_i(w) + (mu/2) ||w - w0||^2: the batch gradient plus
// AddProximalGradient against central finite differences of F (in double), for every parameter,
// with w0 away from w so the proximal term's gradient is not zero.
TEST(MlpGradientTest, ProximalObjectiveMatchesFiniteDifferences) {
  const ModelSpec spec{4, {6}, 3};
  Fixture f = Make(spec, 7, 21);
  std::mt19937_64 rng(5);
  std::normal_distribution<float> n(0, 0.5f);
  Eigen::VectorXf w0 = f.model.params();
  for (Eigen::Index p = 0; p < w0.size(); ++p) w0[p] += n(rng);
  const double mu = 0.7;
  auto objective = [&](const Mlp& m) {
    return ReferenceLoss(m, f.x, f.y, f.coef) + ProximalTerm(mu, m.params(), w0);
  };
  MlpWorkspace ws;
  ws.Forward(f.model, f.x, f.y.data(), f.coef.data());
  ws.Backward(f.model);
  Eigen::VectorXf grad;
  ws.Gradient(f.model, &grad);
  const Eigen::VectorXf data_grad = grad;
  AddProximalGradient(static_cast<float>(mu), f.model.params(), w0, &grad);
  // The term really moved the gradient (else the check would only repeat CheckGradient's).
  EXPECT_GT((grad - data_grad).norm(), 0.1);
  const float h = 1e-3f;
  for (Eigen::Index p = 0; p < grad.size(); ++p) {
    Mlp plus = f.model, minus = f.model;
    plus.params()[p] += h;
    minus.params()[p] -= h;
    const double step = static_cast<double>(plus.params()[p]) - minus.params()[p];
    const double num = (objective(plus) - objective(minus)) / step;
    EXPECT_NEAR(grad[p], num, 1e-3 + 1e-3 * std::abs(num)) << "parameter " << p;
  }
  // And the term itself: (mu/2) ||w - w0||^2, zero at w0.
  EXPECT_NEAR(ProximalTerm(mu, f.model.params(), w0),
              0.5 * mu * (f.model.params() - w0).cast<double>().squaredNorm(), 1e-9);
  EXPECT_EQ(ProximalTerm(mu, w0, w0), 0.0);
}

TEST(MlpTest, PerExampleNormsMatchExplicitPerExampleGradients) {
  ModelSpec spec{4, {6, 5}, 3};
  Fixture f = Make(spec, 7, 11);
  MlpWorkspace ws;
  ws.Forward(f.model, f.x, f.y.data(), nullptr);
  ws.Backward(f.model);
  Eigen::VectorXd norms;
  ws.PerExampleSquaredNorms(f.model, &norms);
  for (int i = 0; i < 7; ++i) {
    MlpWorkspace one;
    Eigen::MatrixXf xi = f.x.col(i);
    one.Forward(f.model, xi, &f.y[i], nullptr);
    one.Backward(f.model);
    Eigen::VectorXf g;
    one.Gradient(f.model, &g);
    const double exact = g.cast<double>().squaredNorm();
    EXPECT_NEAR(norms[i], exact, 1e-5 * (1 + exact)) << "example " << i;
  }
}

TEST(MlpTest, ScaledGradientIsWeightedSumOfPerExampleGradients) {
  ModelSpec spec{4, {6}, 3};
  Fixture f = Make(spec, 5, 3);
  MlpWorkspace ws;
  ws.Forward(f.model, f.x, f.y.data(), nullptr);
  ws.Backward(f.model);
  Eigen::VectorXf scale(5);
  scale << 0.5f, 1.0f, 0.0f, 2.0f, 0.25f;
  Eigen::VectorXf got;
  ws.ScaledGradient(f.model, scale, &got);
  Eigen::VectorXf want = Eigen::VectorXf::Zero(spec.num_params());
  for (int i = 0; i < 5; ++i) {
    MlpWorkspace one;
    Eigen::MatrixXf xi = f.x.col(i);
    one.Forward(f.model, xi, &f.y[i], nullptr);
    one.Backward(f.model);
    Eigen::VectorXf g;
    one.Gradient(f.model, &g);
    want += scale[i] * g;
  }
  EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-5f);
}

TEST(MlpTest, ParallelGradientEqualsSerial) {
  ModelSpec spec{64, {128, 64}, 8};
  Fixture f = Make(spec, 256, 5);
  GradientComputer serial(1), parallel(2);
  Eigen::VectorXf g1, g2;
  double l1 = serial.Compute(f.model, f.x, f.y.data(), f.coef.data(), &g1);
  double l2 = parallel.Compute(f.model, f.x, f.y.data(), f.coef.data(), &g2);
  EXPECT_NEAR(l1, l2, 1e-3 * std::abs(l1));
  EXPECT_LT((g1 - g2).cwiseAbs().maxCoeff(), 1e-4f);
}

TEST(MlpTest, PredictGivesProbabilitiesConsistentWithForward) {
  ModelSpec spec{3, {10}, 2};
  Fixture f = Make(spec, 1500, 9);  // several chunks
  Eigen::MatrixXf probs;
  f.model.Predict(f.x, &probs);
  ASSERT_EQ(probs.rows(), 2);
  ASSERT_EQ(probs.cols(), 1500);
  MlpWorkspace ws;
  ws.Forward(f.model, f.x, f.y.data(), nullptr);
  EXPECT_LT((probs - ws.probs()).cwiseAbs().maxCoeff(), 1e-6f);
  for (Eigen::Index i = 0; i < probs.cols(); ++i) EXPECT_NEAR(probs.col(i).sum(), 1.0f, 1e-5f);
}

TEST(ModelSpecTest, LayoutAndValidation) {
  ModelSpec spec{3, {10}, 2};
  EXPECT_EQ(spec.num_params(), 3 * 10 + 10 + 10 * 2 + 2);
  EXPECT_EQ(spec.weight_offset(1), 40);
  EXPECT_EQ(spec.bias_offset(1), 60);
  EXPECT_EQ(spec.ToString(), "3-10-2");
  EXPECT_TRUE(spec.Validate().ok());
  EXPECT_TRUE((ModelSpec{0, {}, 2}).Validate().IsInvalidArgument());
  EXPECT_TRUE((ModelSpec{3, {}, 1}).Validate().IsInvalidArgument());
  EXPECT_TRUE((ModelSpec{3, {0}, 2}).Validate().IsInvalidArgument());
  EXPECT_TRUE((ModelSpec{65536, {65536, 65536}, 2}).Validate().IsInvalidArgument());
}

TEST(ModelSpecTest, ParseHiddenLayers) {
  EXPECT_EQ(*ParseHiddenLayers("64,32"), (std::vector<int>{64, 32}));
  EXPECT_TRUE(ParseHiddenLayers("none")->empty());
  EXPECT_FALSE(ParseHiddenLayers("64,x").ok());
  EXPECT_FALSE(ParseHiddenLayers("64,,3").ok());
  EXPECT_FALSE(ParseHiddenLayers("-4").ok());
}

TEST(MlpTest, SetParamsRefusesWrongSizeAndNonFinite) {
  Mlp m = *Mlp::Create({3, {10}, 2});
  EXPECT_TRUE(m.SetParams(Eigen::VectorXf::Zero(5)).IsInvalidArgument());
  Eigen::VectorXf p = Eigen::VectorXf::Zero(62);
  p[7] = std::nanf("");
  EXPECT_TRUE(m.SetParams(p).IsInvalidArgument());
  p[7] = 0.5f;
  EXPECT_TRUE(m.SetParams(p).ok());
  EXPECT_EQ(m.params()[7], 0.5f);
}

}  // namespace
}  // namespace fedseg::ml

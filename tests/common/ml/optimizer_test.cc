#include "common/ml/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fedseg::ml {
namespace {

TEST(OptimizerTest, AdamMatchesHandComputedSteps) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  auto opt = *MakeOptimizer(c);
  Eigen::VectorXf p(2), g(2);
  p << 1.0f, -2.0f;
  g << 0.5f, -0.25f;
  opt->Step(p, g);
  // First Adam step moves each parameter by lr * sign(g) (m_hat / sqrt(v_hat) = g / |g|).
  EXPECT_NEAR(p[0], 0.9f, 1e-6f);
  EXPECT_NEAR(p[1], -1.9f, 1e-6f);
  // Second step with the same gradient: m = 0.19 g / (1 - 0.81), v = 0.001999 g^2 / (1 - 0.998001).
  g << 0.5f, -0.25f;
  opt->Step(p, g);
  EXPECT_NEAR(p[0], 0.8f, 1e-5f);
}

TEST(OptimizerTest, SgdMomentumAndWeightDecay) {
  OptimizerConfig c;
  c.name = "sgd";
  c.learning_rate = 0.1;
  c.momentum = 0.5;
  c.weight_decay = 0.1;
  auto opt = *MakeOptimizer(c);
  Eigen::VectorXf p(1), g(1);
  p << 1.0f;
  g << 1.0f;
  opt->Step(p, g);  // grad = 1 + 0.1*1 = 1.1, v = 1.1, p = 1 - 0.11
  EXPECT_NEAR(p[0], 0.89f, 1e-6f);
  g << 1.0f;
  opt->Step(p, g);  // grad = 1.089, v = 0.55 + 1.089 = 1.639, p = 0.89 - 0.1639
  EXPECT_NEAR(p[0], 0.7261f, 1e-5f);
}

TEST(OptimizerTest, MinimisesAQuadratic) {
  for (const char* name : {"adam", "sgd"}) {
    OptimizerConfig c;
    c.name = name;
    c.learning_rate = 0.05;
    auto opt = *MakeOptimizer(c);
    Eigen::VectorXf p = Eigen::VectorXf::Constant(4, 3.0f), g;
    for (int i = 0; i < 2000; ++i) {
      g = 2.0f * (p.array() - 1.0f).matrix();
      opt->Step(p, g);
    }
    EXPECT_LT((p.array() - 1.0f).abs().maxCoeff(), 1e-2f) << name;
  }
}

TEST(OptimizerTest, RejectsInvalidConfigs) {
  OptimizerConfig c;
  c.name = "rmsprop";
  EXPECT_TRUE(MakeOptimizer(c).status().IsInvalidArgument());
  c = {};
  c.learning_rate = -1;
  EXPECT_NE(MakeOptimizer(c).status().message().find("learning rate"), std::string::npos);
  c = {};
  c.momentum = 1.0;
  EXPECT_FALSE(MakeOptimizer(c).ok());
  c = {};
  c.weight_decay = std::nan("");
  EXPECT_FALSE(MakeOptimizer(c).ok());
}

}  // namespace
}  // namespace fedseg::ml

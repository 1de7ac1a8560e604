// The configs the systemd units of deploy/systemd/ expect (installed by the .deb as examples) are
// parsed and validated here, so they cannot drift from the units' paths or go stale. The
// Kubernetes ConfigMaps are exercised live by scripts/deploy_test.sh.
#include <gtest/gtest.h>

#include "client/region_config.h"
#include "coordinator/config.h"

namespace fedseg {
namespace {

TEST(DeployConfigsTest, SystemdCoordinatorConfigIsValidAndUsesTheUnitsPaths) {
  auto c = coordinator::LoadCoordinatorConfig(FEDSEG_SOURCE_DIR "/deploy/systemd/coordinator.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // StateDirectory=fedseg-coordinator and LoadCredential= of fedseg-coordinator.service.
  EXPECT_EQ(c->run_dir, "/var/lib/fedseg-coordinator/run");
  EXPECT_EQ(c->tls.key_file, "/run/credentials/fedseg-coordinator.service/tls.key");
  EXPECT_TRUE(c->status.enabled);
  EXPECT_TRUE(c->status.require_client_cert);
}

TEST(DeployConfigsTest, SystemdRegionConfigIsValidAndKeepsItsLedgerInTheStateDirectory) {
  auto c = client::LoadRegionConfig(FEDSEG_SOURCE_DIR "/deploy/systemd/region.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->ledger, "/var/lib/fedseg-region/ledger.jsonl");
  EXPECT_EQ(c->tls.key_file, "/run/credentials/fedseg-region.service/tls.key");
  EXPECT_DOUBLE_EQ(c->epsilon_budget, 3.0);
}

}  // namespace
}  // namespace fedseg

// The feature engine: computes a FeatureSpec's table from its sources in one streaming pass per
// source, keeping per-user accumulators only (memory grows with users, not events; distinct
// counts and active days keep each user's distinct values). Users are the profile's rows when the
// spec has a profile (events of other users are skipped and counted), otherwise everyone with an
// event before the reference time. Errors name the file, line and spec entry; docs/features.md
// lists every rule.
#ifndef FEDSEG_COMMON_FEATURES_FEATURE_ENGINE_H_
#define FEDSEG_COMMON_FEATURES_FEATURE_ENGINE_H_

#include "common/base/status.h"
#include "common/features/feature_spec.h"
#include "common/features/feature_table.h"

namespace fedseg::features {

Result<FeatureTable> ComputeFeatures(const FeatureSpec& spec);

}  // namespace fedseg::features

#endif  // FEDSEG_COMMON_FEATURES_FEATURE_ENGINE_H_

// Segment profiles: for each predicted segment, its size and share of the table, the mean of each
// numeric feature and the most common value of each categorical feature, in original units (from
// the raw table, not the standardised encoding), so a marketing team can read what a segment is.
// A column read as a logarithm (data::LogColumnName) is profiled under its source's name, as the
// mean of its values in the source's units.
#ifndef FEDSEG_CLIENT_SEGMENT_PROFILE_H_
#define FEDSEG_CLIENT_SEGMENT_PROFILE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/data/dataset_loader.h"

namespace fedseg::client {

struct FeatureProfile {
  std::string name;
  data::ColumnType type;
  double mean = 0.0;          // numeric: mean of non-missing values; boolean: share of "true"
  std::string top_category;   // categorical: most common value
  double top_share = 0.0;     // categorical: its share within the segment
};

struct SegmentProfile {
  std::string segment;
  uint64_t size = 0;
  double share = 0.0;
  double mean_confidence = 0.0;  // mean probability of the assigned segment
  std::vector<FeatureProfile> features;
};

// segment[i] is the segment index of row i; confidence[i] its probability.
std::vector<SegmentProfile> ComputeProfiles(const data::RawDataset& data,
                                            const std::vector<int>& segment,
                                            const std::vector<float>& confidence,
                                            const std::vector<std::string>& segment_names);

std::string ProfilesToText(const std::vector<SegmentProfile>& profiles);
nlohmann::json ProfilesToJson(const std::vector<SegmentProfile>& profiles);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_SEGMENT_PROFILE_H_

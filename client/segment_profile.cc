#include "client/segment_profile.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace fedseg::client {

std::vector<SegmentProfile> ComputeProfiles(const data::RawDataset& data,
                                            const std::vector<int>& segment,
                                            const std::vector<float>& confidence,
                                            const std::vector<std::string>& segment_names) {
  const size_t k = segment_names.size();
  const size_t n = segment.size();
  std::vector<SegmentProfile> out(k);
  std::vector<double> conf_sum(k, 0.0);
  for (size_t s = 0; s < k; ++s) out[s].segment = segment_names[s];
  for (size_t i = 0; i < n; ++i) {
    ++out[segment[i]].size;
    conf_sum[segment[i]] += confidence[i];
  }
  for (size_t s = 0; s < k; ++s) {
    out[s].share = n ? static_cast<double>(out[s].size) / static_cast<double>(n) : 0.0;
    out[s].mean_confidence = out[s].size ? conf_sum[s] / static_cast<double>(out[s].size) : 0.0;
  }
  for (const data::RawColumn& col : data.features) {
    std::vector<FeatureProfile> fp(k);
    if (col.type == data::ColumnType::kCategorical) {
      std::vector<std::map<std::string, uint64_t>> counts(k);
      for (size_t i = 0; i < n; ++i) ++counts[segment[i]][col.text[i]];
      for (size_t s = 0; s < k; ++s) {
        uint64_t best = 0;
        for (const auto& [v, c] : counts[s]) {
          if (c > best) {
            best = c;
            fp[s].top_category = v;
          }
        }
        fp[s].top_share = out[s].size ? static_cast<double>(best) / static_cast<double>(out[s].size) : 0.0;
      }
    } else {
      const bool logged = !data::LogSourceOf(col.name).empty();
      std::vector<double> sum(k, 0.0);
      std::vector<uint64_t> cnt(k, 0);
      for (size_t i = 0; i < n; ++i) {
        double v = col.numeric[i];
        if (std::isnan(v)) continue;
        if (logged) v = data::SignedExpm1(v);
        sum[segment[i]] += v;
        ++cnt[segment[i]];
      }
      for (size_t s = 0; s < k; ++s) {
        fp[s].mean = cnt[s] ? sum[s] / static_cast<double>(cnt[s]) : std::nan("");
      }
    }
    const std::string source = data::LogSourceOf(col.name);
    for (size_t s = 0; s < k; ++s) {
      fp[s].name = source.empty() ? col.name : source;
      fp[s].type = col.type;
      out[s].features.push_back(std::move(fp[s]));
    }
  }
  return out;
}

std::string ProfilesToText(const std::vector<SegmentProfile>& profiles) {
  std::ostringstream os;
  char buf[256];
  os << "Segment profiles (numeric: mean; boolean: share true; categorical: most common value)\n";
  std::snprintf(buf, sizeof buf, "%-28s", "");
  os << buf;
  for (const SegmentProfile& p : profiles) {
    std::snprintf(buf, sizeof buf, " %26s", p.segment.c_str());
    os << buf;
  }
  os << "\n";
  auto row = [&](const std::string& name, auto cell) {
    std::snprintf(buf, sizeof buf, "%-28.28s", name.c_str());
    os << buf;
    for (size_t s = 0; s < profiles.size(); ++s) {
      std::snprintf(buf, sizeof buf, " %26.26s", cell(s).c_str());
      os << buf;
    }
    os << "\n";
  };
  row("size", [&](size_t s) { return std::to_string(profiles[s].size); });
  row("share", [&](size_t s) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100.0 * profiles[s].share);
    return std::string(b);
  });
  row("mean confidence", [&](size_t s) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", profiles[s].mean_confidence);
    return std::string(b);
  });
  if (profiles.empty()) return os.str();
  for (size_t f = 0; f < profiles[0].features.size(); ++f) {
    row(profiles[0].features[f].name, [&](size_t s) {
      const FeatureProfile& fp = profiles[s].features[f];
      char b[64];
      if (fp.type == data::ColumnType::kCategorical) {
        std::snprintf(b, sizeof b, "%s (%.0f%%)", fp.top_category.c_str(), 100.0 * fp.top_share);
      } else if (fp.type == data::ColumnType::kBoolean) {
        std::snprintf(b, sizeof b, "%.1f%% true", 100.0 * fp.mean);
      } else {
        std::snprintf(b, sizeof b, "%.4g", fp.mean);
      }
      return std::string(b);
    });
  }
  return os.str();
}

nlohmann::json ProfilesToJson(const std::vector<SegmentProfile>& profiles) {
  nlohmann::json arr = nlohmann::json::array();
  for (const SegmentProfile& p : profiles) {
    nlohmann::json features = nlohmann::json::object();
    for (const FeatureProfile& f : p.features) {
      if (f.type == data::ColumnType::kCategorical) {
        features[f.name] = {{"type", "categorical"}, {"most_common", f.top_category},
                            {"share", f.top_share}};
      } else if (f.type == data::ColumnType::kBoolean) {
        features[f.name] = {{"type", "boolean"}, {"share_true", f.mean}};
      } else {
        features[f.name] = {{"type", "numeric"},
                            {"mean", std::isnan(f.mean) ? nlohmann::json(nullptr) : nlohmann::json(f.mean)}};
      }
    }
    arr.push_back({{"segment", p.segment},
                   {"size", p.size},
                   {"share", p.share},
                   {"mean_confidence", p.mean_confidence},
                   {"features", features}});
  }
  return arr;
}

}  // namespace fedseg::client

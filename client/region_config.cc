#include "client/region_config.h"

#include <set>

#include "common/file_util.h"

namespace fedseg::client {
namespace {

using nlohmann::json;

template <typename T>
Status Get(const json& obj, const std::string& prefix, const char* key, T* out,
           std::set<std::string>* seen, const std::string& source) {
  seen->insert(key);
  if (!obj.contains(key)) return Status::OK();
  try {
    *out = obj.at(key).get<T>();
  } catch (const std::exception&) {
    return Status::InvalidArgument(source + ": field '" + prefix + key + "' has the wrong type (" +
                                   obj.at(key).dump() + ")");
  }
  return Status::OK();
}

Status NoUnknown(const json& obj, const std::string& prefix, const std::set<std::string>& seen,
                 const std::string& source) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!seen.count(it.key())) {
      return Status::InvalidArgument(source + ": unknown field '" + prefix + it.key() + "'");
    }
  }
  return Status::OK();
}

}  // namespace

Status RegionConfig::Validate() const {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return Status::InvalidArgument("tls.ca, tls.cert and tls.key are required");
  }
  if (train_data.empty()) return Status::InvalidArgument("data.train is required");
  if (coordinator_host.empty()) return Status::InvalidArgument("coordinator.host is required");
  if (delimiter != "" && delimiter != "," && delimiter != ";" && delimiter != "tab" &&
      delimiter != "|") {
    return Status::InvalidArgument("data.delimiter must be ',', ';', 'tab' or '|'");
  }
  if (threads < 0) return Status::InvalidArgument("threads must be >= 0");
  if (connect_timeout_ms < 1 || receive_timeout_s < 1 || backoff_initial_ms < 1 ||
      backoff_max_ms < backoff_initial_ms || give_up_after_s < 1) {
    return Status::InvalidArgument("reconnect timings must be positive (and max >= initial)");
  }
  if (!(epsilon_budget >= 0) || !(delta >= 0 && delta < 1)) {
    return Status::InvalidArgument("privacy.epsilon_budget must be >= 0 and privacy.delta in [0, 1)");
  }
  return Status::OK();
}

Result<RegionConfig> LoadRegionConfig(const std::string& path, const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 16 << 20));
  json j;
  try {
    j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument(path + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument(path + ": the config must be a JSON object");
  for (auto it = overrides.begin(); overrides.is_object() && it != overrides.end(); ++it) {
    j[json::json_pointer(it.key())] = it.value();
  }
  RegionConfig c;
  std::set<std::string> top;
  FEDSEG_RETURN_IF_ERROR(Get(j, "", "region", &c.region, &top, path));
  FEDSEG_RETURN_IF_ERROR(Get(j, "", "threads", &c.threads, &top, path));
  auto section = [&](const char* name, auto&& fill) -> Status {
    top.insert(name);
    if (!j.contains(name)) return Status::OK();
    const json& o = j.at(name);
    if (!o.is_object()) return Status::InvalidArgument(path + ": field '" + name + "' must be an object");
    std::set<std::string> seen;
    FEDSEG_RETURN_IF_ERROR(fill(o, std::string(name) + ".", &seen));
    return NoUnknown(o, std::string(name) + ".", seen, path);
  };
  FEDSEG_RETURN_IF_ERROR(section("coordinator", [&](const json& o, const std::string& p, auto* s) {
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "host", &c.coordinator_host, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "port", &c.coordinator_port, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "connect_timeout_ms", &c.connect_timeout_ms, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "receive_timeout_s", &c.receive_timeout_s, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "backoff_initial_ms", &c.backoff_initial_ms, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "backoff_max_ms", &c.backoff_max_ms, s, path));
    return Get(o, p, "give_up_after_s", &c.give_up_after_s, s, path);
  }));
  FEDSEG_RETURN_IF_ERROR(section("tls", [&](const json& o, const std::string& p, auto* s) {
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "ca", &c.tls.ca_file, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "cert", &c.tls.cert_file, s, path));
    return Get(o, p, "key", &c.tls.key_file, s, path);
  }));
  FEDSEG_RETURN_IF_ERROR(section("data", [&](const json& o, const std::string& p, auto* s) {
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "train", &c.train_data, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "test", &c.test_data, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "id_column", &c.id_column, s, path));
    return Get(o, p, "delimiter", &c.delimiter, s, path);
  }));
  FEDSEG_RETURN_IF_ERROR(section("output", [&](const json& o, const std::string& p, auto* s) {
    return Get(o, p, "model", &c.model_out, s, path);
  }));
  FEDSEG_RETURN_IF_ERROR(section("privacy", [&](const json& o, const std::string& p, auto* s) {
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "epsilon_budget", &c.epsilon_budget, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "delta", &c.delta, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "ledger", &c.ledger, s, path));
    FEDSEG_RETURN_IF_ERROR(Get(o, p, "insecure_seeded_noise", &c.insecure_seeded_noise, s, path));
    return Get(o, p, "noise_seed", &c.noise_seed, s, path);
  }));
  FEDSEG_RETURN_IF_ERROR(NoUnknown(j, "", top, path));
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(path);
  return c;
}

}  // namespace fedseg::client

// Bounded binary serialization for everything fedseg stores or sends (model files, checkpoints,
// network messages), on top of cereal's portable binary archive (fixed little-endian layout).
//
// Hostile or corrupted bytes must never make us allocate more than the input could hold. cereal's
// stock std::vector/std::string loaders resize to whatever length prefix they read, so fedseg does
// not use them: this header provides loaders for std::string, std::vector and std::map that check
// each length prefix against the bytes left in the input *before* allocating (SEAL's discipline),
// and it is the only cereal container header the project includes. Parse() turns every cereal or
// allocation exception into a Status, so callers on network paths never see an exception.
#ifndef FEDSEG_COMMON_BASE_SERIALIZATION_H_
#define FEDSEG_COMMON_BASE_SERIALIZATION_H_

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>
#include <cstdint>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/base/status.h"

namespace fedseg::internal {

// While alive, container loads on this thread are checked against the bytes `is` has left of its
// `total` (Parse() opens one per call; scopes nest, the inner one wins until it closes). The
// thread-local state lives in serialization.cc only: no other translation unit touches a
// thread_local directly, so no compiler-generated TLS wrapper is involved.
class LoadBudgetScope {
 public:
  LoadBudgetScope(const std::istream& is, uint64_t total);
  ~LoadBudgetScope();
  LoadBudgetScope(const LoadBudgetScope&) = delete;
  LoadBudgetScope& operator=(const LoadBudgetScope&) = delete;

 private:
  const std::istream* saved_stream_;
  uint64_t saved_total_;
};

// Throws cereal::Exception (caught in Parse) when `count` elements of at least `min_elem_bytes`
// each cannot fit in what is left of the input.
void CheckContainerSize(uint64_t count, uint64_t min_elem_bytes);

}  // namespace fedseg::internal

namespace cereal {

// A bool is one byte on the wire, 0 or 1. cereal's arithmetic loader would copy any byte into the
// bool's storage, and reading a bool holding 33 is undefined behaviour (found by fuzzing: a Setup
// message with dp = 0x21), so anything but 0 or 1 is refused.
inline void CEREAL_LOAD_FUNCTION_NAME(PortableBinaryInputArchive& ar, bool& b) {
  uint8_t byte = 0;
  ar(byte);
  if (byte > 1) {
    throw Exception("a bool must be stored as 0 or 1, got " + std::to_string(byte));
  }
  b = byte == 1;
}

inline void CEREAL_SAVE_FUNCTION_NAME(PortableBinaryOutputArchive& ar, const std::string& s) {
  ar(make_size_tag(static_cast<size_type>(s.size())));
  ar(binary_data(s.data(), s.size()));
}
inline void CEREAL_LOAD_FUNCTION_NAME(PortableBinaryInputArchive& ar, std::string& s) {
  size_type n = 0;
  ar(make_size_tag(n));
  fedseg::internal::CheckContainerSize(n, 1);
  s.resize(static_cast<size_t>(n));
  ar(binary_data(s.data(), static_cast<std::size_t>(n)));
}

template <class T, class A>
void CEREAL_SAVE_FUNCTION_NAME(PortableBinaryOutputArchive& ar, const std::vector<T, A>& v) {
  ar(make_size_tag(static_cast<size_type>(v.size())));
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    ar(binary_data(v.data(), v.size() * sizeof(T)));
  } else {
    for (const auto& e : v) ar(e);
  }
}
template <class T, class A>
void CEREAL_LOAD_FUNCTION_NAME(PortableBinaryInputArchive& ar, std::vector<T, A>& v) {
  size_type n = 0;
  ar(make_size_tag(n));
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    fedseg::internal::CheckContainerSize(n, sizeof(T));
    v.resize(static_cast<size_t>(n));
    ar(binary_data(v.data(), static_cast<std::size_t>(n) * sizeof(T)));
  } else {
    fedseg::internal::CheckContainerSize(n, 1);
    v.clear();
    v.reserve(static_cast<size_t>(n));
    for (size_type i = 0; i < n; ++i) {
      T e{};
      ar(e);
      v.push_back(std::move(e));
    }
  }
}

template <class K, class V, class C, class A>
void CEREAL_SAVE_FUNCTION_NAME(PortableBinaryOutputArchive& ar, const std::map<K, V, C, A>& m) {
  ar(make_size_tag(static_cast<size_type>(m.size())));
  for (const auto& [k, v] : m) ar(k, v);
}
template <class K, class V, class C, class A>
void CEREAL_LOAD_FUNCTION_NAME(PortableBinaryInputArchive& ar, std::map<K, V, C, A>& m) {
  size_type n = 0;
  ar(make_size_tag(n));
  fedseg::internal::CheckContainerSize(n, 2);
  m.clear();
  for (size_type i = 0; i < n; ++i) {
    K k{};
    V v{};
    ar(k, v);
    // Keys are written in the map's order, each once. A repeated key used to be dropped silently
    // (a summary counting category "a" twice kept only the first count; found by the frame
    // fuzzer), so anything but strictly increasing keys is refused.
    if (!m.empty() && !m.key_comp()(std::prev(m.end())->first, k)) {
      throw Exception("map keys must be unique and in increasing order (entry " +
                      std::to_string(i) + ")");
    }
    m.emplace_hint(m.end(), std::move(k), std::move(v));
  }
}

}  // namespace cereal

namespace fedseg {

// Serializes `value` (which has a cereal serialize/save function) to bytes.
template <typename T>
std::string Serialize(const T& value) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(value);
  }
  return std::move(os).str();
}

// Parses `bytes` into `out`. `what` names the object for error messages ("model payload").
// Fails (never throws) on truncated or malformed input, and when bytes are left over.
template <typename T>
Status Parse(std::string_view bytes, T* out, std::string_view what) {
  // A string_view-backed istream without copying the input.
  struct ViewBuf : std::streambuf {
    explicit ViewBuf(std::string_view v) {
      char* p = const_cast<char*>(v.data());
      setg(p, p, p + v.size());
    }
    pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
      if (dir == std::ios_base::cur && off == 0) return gptr() - eback();
      return pos_type(off_type(-1));
    }
  } buf(bytes);
  std::istream is(&buf);
  T tmp{};
  Status st;
  try {
    internal::LoadBudgetScope budget(is, bytes.size());
    cereal::PortableBinaryInputArchive ar(is);
    ar(tmp);
    if (is.tellg() != static_cast<std::streamoff>(bytes.size())) {
      st = Status::Corruption(std::string(what) + ": " +
                              std::to_string(bytes.size() - static_cast<size_t>(is.tellg())) +
                              " unexpected trailing bytes");
    }
  } catch (const std::exception& e) {
    st = Status::Corruption(std::string(what) + " is malformed: " + e.what());
  }
  if (st.ok()) *out = std::move(tmp);
  return st;
}

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_SERIALIZATION_H_

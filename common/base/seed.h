// Deterministic seed derivation shared by the coordinator and the regions: splitmix64 (Steele,
// Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) over fixed inputs,
// so a seed is the same on every compiler and standard library (std::hash is not).
#ifndef FEDSEG_COMMON_BASE_SEED_H_
#define FEDSEG_COMMON_BASE_SEED_H_

#include <cstdint>
#include <string_view>

namespace fedseg {

// The splitmix64 output function (mix64 variant 13) of `x`: a bijection that spreads every input
// bit over the output.
constexpr uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A seed for the pair (a, b), e.g. (run seed, round) or (round seed, region).
constexpr uint64_t DeriveSeed(uint64_t a, uint64_t b) {
  return Mix64(a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL);
}

// A seed for (a, name): FNV-1a of the name's bytes, then DeriveSeed.
constexpr uint64_t DeriveSeed(uint64_t a, std::string_view name) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return DeriveSeed(a, h);
}

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_SEED_H_

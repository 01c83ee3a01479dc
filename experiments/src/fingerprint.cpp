#include "bridges/experiments/fingerprint.hpp"

#include <fmt/format.h>

#include <cstring>

namespace bridges {

namespace {

constexpr uint64_t kP1 = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kP2 = 0xff51afd7ed558ccdULL;
constexpr uint64_t kP3 = 0xc4ceb9fe1a85ec53ULL;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// splitmix64's finaliser: every input bit affects every output bit.
uint64_t finalize(uint64_t x) {
  x ^= x >> 33;
  x *= kP2;
  x ^= x >> 33;
  x *= kP3;
  return x ^ (x >> 33);
}

}  // namespace

Fingerprint& Fingerprint::add(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  // Two independent lanes over 8-byte words: a multiply-rotate lane and an
  // add-xorshift lane; together 128 bits.
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    a_ = rotl((a_ ^ w) * kP1, 31);
    b_ = (b_ + w) * kP3;
    b_ ^= b_ >> 29;
  }
  uint64_t tail = 0;
  if (bytes > i) std::memcpy(&tail, p + i, bytes - i);  // p may be null when bytes is 0
  tail ^= static_cast<uint64_t>(bytes) << 56;  // the chunk's length: "ab"+"c" differs from "a"+"bc"
  a_ = rotl((a_ ^ tail) * kP1, 31);
  b_ = (b_ + tail) * kP3;
  b_ ^= b_ >> 29;
  length_ += bytes;
  return *this;
}

Fingerprint& Fingerprint::add(std::string_view text) { return add(text.data(), text.size()); }

Fingerprint& Fingerprint::add(const Tensor& t) {
  if (!t.defined()) return add(std::string_view("undefined"));
  add(std::string_view(describe(t)));
  if (t.is_sparse()) {  // a bag-of-words feature matrix: its coordinates and values
    const Tensor c = t.coalesce();
    return add(c.indices()).add(c.values());
  }
  const Tensor c = t.contiguous();
  return add(c.data_ptr(), c.nbytes());
}

Fingerprint& Fingerprint::add(const nlohmann::json& j) { return add(std::string_view(j.dump())); }

Fingerprint& Fingerprint::add(const Examples& e) {
  for (const auto& [name, t] : e.fields) add(std::string_view(name)).add(t);
  for (const auto& [name, t] : e.graph) add(std::string_view(name)).add(t);
  for (const auto& text : e.texts) add(std::string_view(text));
  add(e.labels).add(e.indices).add(std::string_view(e.split));
  return add(&e.split_size, sizeof e.split_size);
}

std::string Fingerprint::hex() const {
  return fmt::format("{:016x}{:016x}", finalize(a_ ^ length_), finalize(b_ + rotl(length_, 17)));
}

}  // namespace bridges

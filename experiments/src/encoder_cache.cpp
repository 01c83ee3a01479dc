#include "bridges/experiments/encoder_cache.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "bridges/build_info.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/util/io.hpp"

namespace bridges {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// File layout: a magic line, one line of JSON metadata (key, encoder,
// payload size and hash), then the encoder's own serialised state.
constexpr std::string_view kMagic = "bridges-encoder 1\n";

// The payload of a cache file, or the reason it cannot be trusted.
struct Read {
  std::string payload;
  std::string problem;
};

Read read_cache_file(const fs::path& file, const std::string& key) {
  std::string bytes;
  try {
    bytes = read_text(file);
  } catch (const IoError& e) {
    return {"", e.what()};
  }
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) return {"", "it does not start with the bridges-encoder magic"};
  const std::size_t eol = bytes.find('\n', kMagic.size());
  if (eol == std::string::npos) return {"", "the metadata line is missing"};
  json meta;
  try {
    meta = parse_json(bytes.substr(kMagic.size(), eol - kMagic.size()), "encoder cache header");
  } catch (const json::exception&) {
    return {"", "the metadata is not valid JSON"};
  } catch (const Error& e) {
    return {"", e.what()};
  }
  std::string payload = bytes.substr(eol + 1);
  if (meta.value("key", "") != key) return {"", "it was written for another key"};
  if (meta.value("payload_bytes", int64_t{-1}) != static_cast<int64_t>(payload.size()))
    return {"", fmt::format("it holds {} bytes of weights, its metadata says {}", payload.size(),
                            meta.value("payload_bytes", int64_t{-1}))};
  if (meta.value("payload_hash", "") != Fingerprint().add(std::string_view(payload)).hex())
    return {"", "the checksum of the weights does not match"};
  return {std::move(payload), ""};
}

}  // namespace

std::string encoder_cache_key(const Encoder& encoder, const Examples& train) {
  return Fingerprint().add(encoder.to_json()).add(train).add(build_id()).hex();
}

fs::path encoder_cache_file(const Encoder& encoder, const Examples& train, const fs::path& folder) {
  return folder / fmt::format("{}-{}.bin", encoder.type(), encoder_cache_key(encoder, train));
}

CachedFit fit_cached(Encoder& encoder, const Examples& train, const fs::path& folder) {
  CachedFit result;
  if (!encoder.trainable()) return result;
  result.key = encoder_cache_key(encoder, train);
  result.file = encoder_cache_file(encoder, train, folder);

  std::error_code ec;
  if (fs::exists(result.file, ec)) {
    Read read = read_cache_file(result.file, result.key);
    if (read.problem.empty()) {
      try {
        std::istringstream in(read.payload);
        encoder.load(in);
        return result;
      } catch (const std::exception& e) {
        read.problem = fmt::format("the encoder could not load it: {}", e.what());
      }
    }
    result.warning = fmt::format("{}: damaged cache file ({}); the encoder is trained again and the file replaced.",
                                 result.file.string(), read.problem);
  }

  encoder.fit(train);
  result.trained = true;
  std::ostringstream payload_stream;
  encoder.save(payload_stream);
  const std::string payload = payload_stream.str();
  const json meta{{"key", result.key},
                  {"encoder", encoder.to_json()},
                  {"build", build_id()},
                  {"payload_bytes", payload.size()},
                  {"payload_hash", Fingerprint().add(std::string_view(payload)).hex()}};
  write_file_atomically(result.file, [&](std::ostream& out) {
    out << kMagic << meta.dump() << '\n';
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  });
  return result;
}

}  // namespace bridges

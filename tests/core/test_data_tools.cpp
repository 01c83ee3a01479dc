#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/equal.h>
#include <stdlib.h>

#include <sstream>

#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/util/paths.hpp"
#include "bridges/util/progress.hpp"
#include "bridges/util/subsets.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

Tensor class_labels(std::vector<int64_t> sizes) {  // sizes[c] samples of class c, interleaved
  std::vector<int64_t> labels;
  for (int64_t round = 0; labels.size() < static_cast<std::size_t>(std::accumulate(sizes.begin(), sizes.end(), int64_t{0})); ++round)
    for (std::size_t c = 0; c < sizes.size(); ++c)
      if (round < sizes[c]) labels.push_back(static_cast<int64_t>(c));
  return at::tensor(labels, at::kLong);
}

// A trainable encoder that learns the mean of x: counts its fits, so the
// cache's behaviour can be checked exactly.
class MeanEncoder final : public Encoder {
 public:
  int fits = 0;
  double seed = 0;
  Tensor mean;
  std::string type() const override { return "mean"; }
  json to_json() const override { return {{"type", "mean"}, {"seed", seed}}; }
  bool trainable() const override { return true; }
  int64_t dim() const override { return 1; }
  void fit(const Examples& train) override {
    ++fits;
    mean = train.field("x").mean({0}, true);
  }
  Tensor encode(const Examples& e) override { return e.field("x") - mean; }
  void save(std::ostream& out) const override { out << json(mean.item<double>()).dump(); }
  void load(std::istream& in) override {
    json j;
    in >> j;
    mean = at::full({1, 1}, j.get<double>(), at::kFloat);
  }
};

Examples examples_of(const Tensor& x) {
  Examples e;
  e.fields["x"] = x;
  e.labels = at::zeros({x.size(0)}, at::TensorOptions().dtype(at::kLong));
  return e;
}

}  // namespace

TEST_CASE("stratified subsets keep each class's share and add up exactly") {
  const Tensor labels = class_labels({500, 300, 200});
  const Tensor rows = stratified_subset(labels, 100, 3);
  CHECK(rows.size(0) == 100);
  const Tensor counts = at::bincount(labels.index_select(0, rows));
  CHECK(counts[0].item<int64_t>() == 50);
  CHECK(counts[1].item<int64_t>() == 30);
  CHECK(counts[2].item<int64_t>() == 20);
  CHECK((rows.slice(0, 1) > rows.slice(0, 0, -1)).all().item<bool>());  // sorted, distinct
  CHECK(at::equal(rows, stratified_subset(labels, 100, 3)));
  CHECK_FALSE(at::equal(rows, stratified_subset(labels, 100, 4)));
  // 7 of 3 classes 5:3:2 -> 3.5, 2.1, 1.4 -> 3 + 2 + 1, the largest remainder (.5) gets the 7th.
  const Tensor seven = at::bincount(labels.index_select(0, stratified_subset(labels, 7, 0)));
  CHECK(seven[0].item<int64_t>() == 4);
  CHECK(seven[1].item<int64_t>() == 2);
  CHECK(seven[2].item<int64_t>() == 1);
  CHECK(stratified_subset(labels, 5000, 0).size(0) == 1000);
  CHECK_THROWS_AS(stratified_subset(labels, 0, 0), ConfigError);
}

TEST_CASE("a stratified split is a partition of the rows") {
  const Tensor labels = class_labels({60, 40});
  const auto [train, test] = stratified_split(labels, 20, 1);
  CHECK(test.size(0) == 20);
  CHECK(train.size(0) == 80);
  CHECK(at::bincount(labels.index_select(0, test))[1].item<int64_t>() == 8);
  const Tensor all = std::get<0>(at::cat({train, test}).sort());
  CHECK(at::equal(all, at::arange(100, at::TensorOptions().dtype(at::kLong))));
  CHECK_THROWS_WITH_ALL(stratified_split(labels, 100, 0), ConfigError, "between 1 and 99");
}

TEST_CASE("fingerprints change with any byte, dtype or shape, and not otherwise") {
  const Tensor x = testing::randn({50, 7}, 1);
  const std::string h = Fingerprint().add(x).hex();
  CHECK(h.size() == 32);
  CHECK(Fingerprint().add(x.clone()).hex() == h);
  Tensor y = x.clone();
  y[49][6] = y[49][6].item<float>() + 1e-6f;
  CHECK(Fingerprint().add(y).hex() != h);
  CHECK(Fingerprint().add(x.reshape({7, 50})).hex() != h);
  CHECK(Fingerprint().add(x.to(at::kDouble)).hex() != h);
  CHECK(Fingerprint().add(std::string_view("ab")).add(std::string_view("c")).hex() !=
        Fingerprint().add(std::string_view("a")).add(std::string_view("bc")).hex());
  CHECK(Fingerprint().add(json{{"b", 1}, {"a", 2}}).hex() == Fingerprint().add(json{{"a", 2}, {"b", 1}}).hex());
}

TEST_CASE("progress writes plain lines when not on a terminal, and nothing when quiet") {
  ::unsetenv("BRIDGES_QUIET");  // ctest sets it for the other suites
  // Not on a terminal, short work leaves no line (a decoder's 2-second
  // epochs once filled 95% of a run's log) ...
  std::ostringstream brief;
  {
    Progress progress("train", 100, "img", &brief);
    CHECK_FALSE(progress.interactive());
    for (int64_t done = 10; done <= 100; done += 10) progress.update(done, {{"loss", 0.5}});
    progress.finish({{"loss", 0.25}});
  }
  CHECK(brief.str().empty());
  // ... long work its final line, and a heartbeat with the ETA meanwhile
  // (here every update: the pace's bounds are 0).
  std::ostringstream out;
  {
    Progress progress("train", 100, "img", &out, Progress::Pace{std::chrono::milliseconds(0), std::chrono::milliseconds(0)});
    for (int64_t done = 25; done <= 100; done += 25) progress.update(done, {{"loss", 0.5}});
    progress.finish({{"loss", 0.25}});
  }
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);  // 25%, 50%, 75% and the final line
  CHECK(text.find("train  50% 50/100 img  loss 0.5") != std::string::npos);
  CHECK(text.find("train 100% 100/100 img  loss 0.25") != std::string::npos);
  CHECK(text.find(" in ") != std::string::npos);
  CHECK(text.find('\r') == std::string::npos);

  ::setenv("BRIDGES_QUIET", "1", 1);
  std::ostringstream quiet;
  {
    Progress progress("train", 10, "img", &quiet);
    progress.update(5);
    progress.finish();
  }
  ::unsetenv("BRIDGES_QUIET");
  CHECK(quiet.str().empty());
}

TEST_CASE("data and cache folders follow BRIDGES_DATA / BRIDGES_CACHE, then XDG_CACHE_HOME") {
  ::setenv("BRIDGES_DATA", "/srv/data", 1);
  ::setenv("BRIDGES_CACHE", "/srv/cache", 1);
  CHECK(data_dir() == "/srv/data");
  CHECK(cache_dir() == "/srv/cache");
  ::unsetenv("BRIDGES_DATA");
  ::unsetenv("BRIDGES_CACHE");
  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old ? old : "";
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  CHECK(data_dir() == "/xdg/bridges/data");
  CHECK(cache_dir() == "/xdg/bridges/cache");
  if (old) ::setenv("XDG_CACHE_HOME", saved.c_str(), 1); else ::unsetenv("XDG_CACHE_HOME");
}

TEST_CASE("the encoder cache trains once, reloads after, and retrains over a damaged file") {
  testing::TempDir dir;
  const Examples train = examples_of(testing::randn({20, 1}, 1) + 3);
  MeanEncoder first;
  const CachedFit a = fit_cached(first, train, dir.path());
  CHECK(a.trained);
  CHECK(first.fits == 1);
  CHECK(a.warning.empty());
  CHECK(fs::exists(a.file));

  MeanEncoder second;
  const CachedFit b = fit_cached(second, train, dir.path());
  CHECK_FALSE(b.trained);
  CHECK(second.fits == 0);
  CHECK(b.file == a.file);
  CHECK(at::allclose(second.encode(train), first.encode(train)));

  // Another seed or other data: another key, another training.
  MeanEncoder other_seed;
  other_seed.seed = 1;
  CHECK(fit_cached(other_seed, train, dir.path()).trained);
  MeanEncoder other_data;
  CHECK(fit_cached(other_data, examples_of(testing::randn({20, 1}, 2)), dir.path()).trained);
  CHECK(testing::list_folder(dir.path()).size() == 3);

  // A flipped byte in the weights, then a truncated file: never used, retrained, replaced.
  std::string bytes = testing::read_file(a.file);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x01);
  testing::write_bytes(a.file, bytes);
  MeanEncoder third;
  const CachedFit c = fit_cached(third, train, dir.path());
  CHECK(c.trained);
  CHECK(third.fits == 1);
  CHECK(c.warning.find("damaged cache file (the checksum of the weights does not match)") != std::string::npos);
  testing::write_bytes(a.file, bytes.substr(0, 30));
  MeanEncoder fourth;
  const CachedFit d = fit_cached(fourth, train, dir.path());
  CHECK(d.trained);
  CHECK(d.warning.find(a.file.string()) != std::string::npos);
  MeanEncoder fifth;  // the replaced file is good again
  CHECK_FALSE(fit_cached(fifth, train, dir.path()).trained);
}

// The vision encoders trained on small slices of the real Fashion-MNIST.
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/isfinite.h>

#include <sstream>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/error.hpp"
#include "testing.hpp"
#include "vision_support.hpp"

using namespace bridges;
using nlohmann::json;

namespace {

struct Slice {
  Examples train, test;
};

const Slice& fashion(int64_t train, int64_t test) {
  static std::map<std::pair<int64_t, int64_t>, Slice> slices;
  auto it = slices.find({train, test});
  if (it == slices.end()) {
    auto data = vision::registry().make<Dataset>("fashion_mnist", {{"train_limit", train}, {"test_limit", test}});
    it = slices.emplace(std::make_pair(train, test), Slice{data->split("train"), data->split("test")}).first;
  }
  return it->second;
}

std::string saved(const Encoder& encoder) {
  std::ostringstream out;
  encoder.save(out);
  return out.str();
}

}  // namespace

TEST_CASE("a cnn trained for one epoch on 3000 real images beats chance by a wide margin") {
  const Slice& s = fashion(3000, 1000);
  auto cnn = vision::registry().make<Encoder>("cnn", {{"epochs", 1}});
  CHECK(cnn->trainable());
  cnn->fit(s.train);
  const double accuracy = cnn->quality(s.test)["accuracy"];
  CHECK(accuracy > 0.65);  // chance: 0.10
  const Tensor z = cnn->encode(s.test);
  CHECK(z.sizes() == at::IntArrayRef{1000, 64});
  CHECK(cnn->dim() == 64);
  CHECK(at::isfinite(z).all().item<bool>());
  auto mlp = vision::registry().make<Encoder>("mlp", {{"epochs", 1}, {"latent_dim", 32}});
  mlp->fit(s.train);
  CHECK(mlp->quality(s.test)["accuracy"].get<double>() > 0.6);
  CHECK(mlp->encode(s.test).size(1) == 32);
}

TEST_CASE("the same seed and data give identical weights; another seed does not") {
  const Slice& s = fashion(600, 100);
  const json options{{"epochs", 1}, {"seed", 7}, {"channels", {8, 16}}};
  auto a = vision::registry().make<Encoder>("cnn", options);
  auto b = vision::registry().make<Encoder>("cnn", options);
  a->fit(s.train);
  b->fit(s.train);
  CHECK(saved(*a) == saved(*b));
  CHECK(at::equal(a->encode(s.test), b->encode(s.test)));
  json other = options;
  other["seed"] = 8;
  auto c = vision::registry().make<Encoder>("cnn", other);
  c->fit(s.train);
  CHECK_FALSE(at::equal(a->encode(s.test), c->encode(s.test)));
  // A trained encoder written and read back encodes identically.
  auto d = vision::registry().make<Encoder>("cnn", options);
  std::istringstream in(saved(*a));
  d->load(in);
  CHECK(at::equal(d->encode(s.test), a->encode(s.test)));
}

TEST_CASE("every auto-encoder reconstructs better than the mean image, with the documented latent") {
  // ~125 Adam steps: enough for the VAEs too (their KL term slows them;
  // 16 steps of batch 128 were not).
  const Slice& s = fashion(1000, 500);
  const Tensor images = s.test.field("image");
  const double baseline = (images - s.train.field("image").mean({0}, true)).pow(2).mean().item<double>();
  const std::map<std::string, int64_t> latent{{"ae", 4 * 7 * 7}, {"vae", 4 * 7 * 7}, {"lin_ae", 64}, {"lin_vae", 64}};
  for (const auto& [name, size] : latent) {
    CAPTURE(name);
    auto encoder = vision::registry().make<Encoder>(name, {{"epochs", 4}, {"batch_size", 32}});
    encoder->fit(s.train);
    const double mse = encoder->quality(s.test)["mse"];
    CHECK(mse < 0.8 * baseline);
    const Tensor z = encoder->encode(s.test);
    CHECK(z.sizes() == at::IntArrayRef{500, size});
    CHECK(encoder->dim() == size);
    CHECK(at::isfinite(z).all().item<bool>());
  }
}

TEST_CASE("a trained encoder is cached, reloaded, and retrained over a corrupted file") {
  testing::TempDir dir;
  const Slice& s = fashion(600, 100);
  const json options{{"epochs", 1}, {"channels", {8, 16}}, {"seed", 3}};
  auto first = vision::registry().make<Encoder>("cnn", options);
  const CachedFit a = fit_cached(*first, s.train, dir.path());
  CHECK(a.trained);
  auto second = vision::registry().make<Encoder>("cnn", options);
  const CachedFit b = fit_cached(*second, s.train, dir.path());
  CHECK_FALSE(b.trained);
  CHECK(at::equal(second->encode(s.test), first->encode(s.test)));

  std::string bytes = testing::read_file(a.file);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  testing::write_bytes(a.file, bytes);
  auto third = vision::registry().make<Encoder>("cnn", options);
  const CachedFit c = fit_cached(*third, s.train, dir.path());
  CHECK(c.trained);
  CHECK(c.warning.find("damaged cache file") != std::string::npos);
  CHECK(at::equal(third->encode(s.test), first->encode(s.test)));  // retrained: the same weights again
}

TEST_CASE("vision encoders explain what they cannot do") {
  const Slice& s = fashion(600, 100);
  auto ae = vision::registry().make<Encoder>("ae");
  CHECK_THROWS_WITH_ALL(ae->dim(), ConfigError, "known once the encoder is fitted or loaded");
  CHECK_THROWS_WITH_ALL(ae->encode(s.test), ConfigError, "not trained yet");
  Examples flat = s.train;
  flat.fields["image"] = flat.fields["image"].flatten(1);
  CHECK_THROWS_WITH_ALL(ae->fit(flat), ShapeError, "images [n, c, h, w]", "float32 [600, 784]");
  Examples unlabelled = s.train;
  unlabelled.labels = Tensor();
  CHECK_THROWS_WITH_ALL(vision::registry().make<Encoder>("mlp", {{"epochs", 1}})->fit(unlabelled), ConfigError,
                        "labels of at least 2 classes");
  Examples odd = s.train;
  odd.fields["image"] = odd.fields["image"].narrow(2, 0, 27);
  CHECK_THROWS_WITH_ALL(ae->fit(odd), ShapeError, "multiples of 4", "27x28");
  CHECK_THROWS_WITH_ALL(vision::registry().make<Encoder>("cnn", {{"channels", {8}}})->fit(s.train), ConfigError,
                        "two positive integers");
  // A fit with its own thread count gives the process its threads back.
  const int before = at::get_num_threads();
  vision::registry().make<Encoder>("mlp", {{"epochs", 1}, {"threads", 1}})->fit(s.train);
  CHECK(at::get_num_threads() == before);
}

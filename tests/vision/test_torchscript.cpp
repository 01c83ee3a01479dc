// Pretrained models as TorchScript: modules built here in C++ with
// torch::jit::Module::define, saved, and loaded through the plugin.
#include <torch/script.h>

#include <ATen/ops/upsample_bilinear2d.h>

#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "testing.hpp"
#include "vision_support.hpp"

using namespace bridges;
using nlohmann::json;

namespace {

// forward(x) = SOURCE, with a fixed weight matrix w [4, 3].
std::string save_module(const testing::TempDir& dir, const std::string& name, const std::string& source) {
  torch::jit::Module m(name);
  m.register_parameter("w", torch::arange(12, torch::kFloat).reshape({4, 3}) / 10, false);
  m.define("def forward(self, x):\n  " + source + "\n");
  const auto file = (dir / (name + ".pt")).string();
  m.save(file);
  return file;
}

Examples rows(const Tensor& x) {
  Examples e;
  e.fields["x"] = x;
  e.fields["image"] = x;
  return e;
}

}  // namespace

TEST_CASE("a TorchScript module encodes in batches, and outputs are selected from tensors, tuples and dicts") {
  testing::TempDir dir;
  const Tensor x = testing::randn({10, 4}, 1);
  const Tensor expected = x.mm(torch::arange(12, torch::kFloat).reshape({4, 3}) / 10);
  const auto tensor_file = save_module(dir, "plain", "return x.mm(self.w)");
  auto plain = vision::registry().make<Encoder>("torchscript", {{"path", tensor_file}, {"field", "x"}, {"batch_size", 3}});
  const Tensor z = plain->encode(rows(x));
  CHECK(testing::max_abs_diff(z, expected) < 1e-6);
  CHECK(plain->dim() == 3);

  const auto tuple_file = save_module(dir, "pair", "return (x.sum(1), x.mm(self.w))");
  auto second = vision::registry().make<Encoder>("torchscript", {{"path", tuple_file}, {"field", "x"}, {"output", "1"}});
  CHECK(testing::max_abs_diff(second->encode(rows(x)), expected) < 1e-6);
  auto out_of_range = vision::registry().make<Encoder>("torchscript", {{"path", tuple_file}, {"field", "x"}, {"output", "2"}});
  CHECK_THROWS_WITH_ALL(out_of_range->encode(rows(x)), ConfigError, "out of range", "2 elements");
  auto no_selection = vision::registry().make<Encoder>("torchscript", {{"path", tuple_file}, {"field", "x"}});
  CHECK_THROWS_WITH_ALL(no_selection->encode(rows(x)), ConfigError, "not a tensor", "\"output\"");

  const auto dict_file = save_module(dir, "named", "return {'pooled': x.mm(self.w), 'sum': x.sum(1)}");
  auto pooled = vision::registry().make<Encoder>("torchscript", {{"path", dict_file}, {"field", "x"}, {"output", "pooled"}});
  CHECK(testing::max_abs_diff(pooled->encode(rows(x)), expected) < 1e-6);
  auto missing_key = vision::registry().make<Encoder>("torchscript", {{"path", dict_file}, {"field", "x"}, {"output", "cls"}});
  CHECK_THROWS_WITH_ALL(missing_key->encode(rows(x)), ConfigError, "without key \"cls\"", "pooled");
}

TEST_CASE("TorchScript preprocessing repeats channels, resizes and normalises before forward") {
  testing::TempDir dir;
  const auto file = save_module(dir, "identity", "return x");
  const Tensor images = testing::randn({5, 1, 8, 8}, 2);
  const json options{{"path", file}, {"channels", 3}, {"resize", {4, 6}},
                     {"mean", {0.1, 0.2, 0.3}}, {"std", {2.0, 4.0, 8.0}}};
  auto encoder = vision::registry().make<Encoder>("torchscript", options);
  const Tensor z = encoder->encode(rows(images));
  CHECK(z.sizes() == at::IntArrayRef{5, 3 * 4 * 6});
  const Tensor resized = at::upsample_bilinear2d(images.expand({-1, 3, -1, -1}), {4, 6}, false);
  const Tensor expected = (resized - torch::tensor({0.1f, 0.2f, 0.3f}).reshape({1, 3, 1, 1})) /
                          torch::tensor({2.0f, 4.0f, 8.0f}).reshape({1, 3, 1, 1});
  CHECK(testing::max_abs_diff(z, expected.reshape({5, -1})) < 1e-6);
}

TEST_CASE("a file that is not TorchScript is a clear error at creation") {
  testing::TempDir dir;
  testing::write_bytes(dir / "junk.pt", "not a zip archive");
  CHECK_THROWS_WITH_ALL(vision::registry().make<Encoder>("torchscript", {{"path", (dir / "junk.pt").string()}}),
                        CreateError, "junk.pt", "torch.jit.save");
}

// A host program registers its own components in-process, with no plugin.
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/stack.h>

#include <sstream>

#include "bridges/aggregator.hpp"
#include "bridges/component_source.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/similarity.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;

namespace {

class Scaled final : public Similarity {
 public:
  explicit Scaled(const json& options) : factor_(options.at("factor").get<double>()) {
    if (factor_ == 13) throw ConfigError("factor 13 is unlucky");
    if (factor_ == 666) throw std::runtime_error("the factory broke");
  }
  std::string type() const override { return "scaled"; }
  json to_json() const override { return {{"type", type()}, {"factor", factor_}}; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& a) const override { return x.mm(a.t()) * factor_; }

 private:
  double factor_;
};

// The smallest aggregator: the mean of the subspaces, with one trainable scale.
class MeanAggregator final : public Aggregator {
 public:
  explicit MeanAggregator(const json&) { scale_ = register_parameter("scale", at::ones({1})); }
  std::string type() const override { return "mean"; }
  Tensor aggregate(const std::vector<Tensor>& subspaces) override { return at::stack(subspaces).mean({0}) * scale_; }
  int64_t output_dim(int64_t, int64_t k) const override { return k; }

 private:
  Tensor scale_;
};

class Fixed final : public Encoder {
 public:
  explicit Fixed(const json&) {}
  std::string type() const override { return "fixed"; }
  Tensor encode(const Examples& e) override { return e.field("x"); }
  int64_t dim() const override { return 3; }
};

const json kScaledOptions = json::parse(R"({"factor": {"type": "number", "default": 2}})");

}  // namespace

TEST_CASE("an in-process source makes components with validated, completed options") {
  InProcessSource source;
  source.add<Scaled>("scaled", {{"options", kScaledOptions}, {"description", "x.a scaled"}});
  source.add<MeanAggregator>("mean");
  source.add<Fixed>("fixed");

  auto s = source.make<Similarity>("scaled");
  CHECK(s->to_json() == json{{"type", "scaled"}, {"factor", 2.0}});
  CHECK(source.make<Similarity>("scaled", {{"factor", 5}})->to_json()["factor"] == 5.0);
  // JSON -> object -> JSON is stable.
  CHECK(source.make_from_json<Similarity>(s->to_json())->to_json() == s->to_json());

  const auto info = source.info(ComponentKind::similarity, "scaled");
  CHECK(info.qualified_name() == "similarity/scaled");
  CHECK(info.provider == "in-process");
  CHECK(info.description == "x.a scaled");
  CHECK(source.components().size() == 3);

  auto mean = source.make<Aggregator>("mean");
  const Tensor r = mean->aggregate({at::ones({2, 3}), at::ones({2, 3}) * 3});
  CHECK(r.sizes() == at::IntArrayRef{2, 3});
  CHECK(r.min().item<float>() == 2.0f);
  CHECK(mean->parameters().size() == 1);
  CHECK(mean->output_dim(2, 3) == 3);

  auto fixed = source.make<Encoder>("fixed");
  CHECK_FALSE(fixed->trainable());
  CHECK_THROWS_WITH_ALL(fixed->fit({}), NotImplemented, "encoder/fixed: fit");
  std::ostringstream sink;
  CHECK_THROWS_WITH_ALL(fixed->save(sink), NotImplemented, "encoder/fixed: save");
  CHECK_THROWS_WITH_ALL(fixed->quality({}), NotImplemented, "encoder/fixed: quality");
  CHECK(fixed->to_json() == json{{"type", "fixed"}});
}

TEST_CASE("an in-process source explains unknown names, bad options and failing factories") {
  InProcessSource source;
  source.add<Scaled>("scaled", {{"options", kScaledOptions}});
  CHECK_THROWS_WITH_ALL(source.make<Similarity>("scalde"), UnknownNameError, "similarity 'scalde' does not exist",
                        "Did you mean 'scaled'?");
  CHECK_THROWS_WITH_ALL(source.make<Encoder>("scaled"), UnknownNameError, "encoder 'scaled'", "Available: (none)");
  CHECK_THROWS_WITH_ALL(source.make<Similarity>("scaled", {{"factr", 1}}), ConfigError, "similarity/scaled",
                        "Did you mean 'factor'?");
  CHECK_THROWS_WITH_ALL(source.make<Similarity>("scaled", {{"factor", 13}}), ConfigError, "unlucky");
  CHECK_THROWS_WITH_ALL(source.make<Similarity>("scaled", {{"factor", 666}}), CreateError, "similarity/scaled",
                        "the factory broke");
  CHECK_THROWS_WITH_ALL(source.make_from_json<Similarity>(json{{"factor", 1}}), ConfigError,
                        R"({"type": "<name>", ...options})");
  CHECK_THROWS_WITH_ALL(source.add<Scaled>("scaled", {{"options", kScaledOptions}}), ConfigError, "registered twice");
  // A factory registered under the wrong kind is caught when cast.
  source.add(ComponentKind::encoder, "impostor", [](const json& o) { return std::make_shared<Scaled>(json{{"factor", 1}}); });
  CHECK_THROWS_WITH_ALL(source.make<Encoder>("impostor"), CreateError, "not a encoder");
}

TEST_CASE("an in-process similarity declares its direction as a manifest does") {
  InProcessSource source;
  source.add<Scaled>("scaled", {{"options", kScaledOptions}, {"description", "a scaled distance"}, {"direction", "distance"}});
  source.add<Scaled>("undeclared", {{"options", kScaledOptions}});
  CHECK(source.info(ComponentKind::similarity, "scaled").direction == "distance");
  CHECK(source.info(ComponentKind::similarity, "undeclared").direction.empty());
  CHECK_THROWS_WITH_ALL(source.add<Scaled>("other", {{"options", kScaledOptions}, {"direction", "dissimilarity"}}), ConfigError,
                        "similarity/other", "\"dissimilarity\" is not \"similarity\"");
  const auto factory = [](const json&) { return std::make_shared<Scaled>(json{{"factor", 1}}); };
  CHECK_THROWS_WITH_ALL(source.add(ComponentKind::encoder, "e", factory, {{"direction", "distance"}}), ConfigError,
                        "encoder/e", "only similarities and measures declare a direction");
  // Aggregators say whether they treat every subspace alike, as a manifest does.
  source.add(ComponentKind::aggregator, "merge", factory, {{"symmetric", true}});
  CHECK(source.info(ComponentKind::aggregator, "merge").symmetric);
  CHECK_FALSE(source.info(ComponentKind::similarity, "scaled").symmetric);
  CHECK_THROWS_WITH_ALL(source.add(ComponentKind::aggregator, "m2", factory, {{"symmetric", 1}}), ConfigError,
                        "aggregator/m2", "\"symmetric\" must be true or false, found 1");
  CHECK_THROWS_WITH_ALL(source.add<Scaled>("s2", {{"options", kScaledOptions}, {"symmetric", true}}), ConfigError,
                        "similarity/s2", "only aggregators declare \"symmetric\"");
}

TEST_CASE("an in-process similarity declares its invariances once, as a manifest does, options included") {
  InProcessSource source;
  source.add<Scaled>("scaled", {{"options", kScaledOptions},
                                {"invariances", json::array({"orthogonal", {{"invariance", "permutation"},
                                                                            {"when", {{"factor", 1}}}}})}});
  const ComponentInfo info = source.info(ComponentKind::similarity, "scaled");
  CHECK(info.invariances.holds(source.make<Similarity>("scaled", {{"factor", 1}})->to_json()) ==
        InvarianceSet{Invariance::orthogonal, Invariance::permutation});
  CHECK(info.invariances.holds(source.make<Similarity>("scaled")->to_json()) ==  // the default factor, 2
        InvarianceSet{Invariance::orthogonal});
  CHECK_THROWS_WITH_ALL(source.add<Scaled>("bad", {{"options", kScaledOptions}, {"invariances", json::array({"rotation"})}}),
                        ConfigError,
                        "similarity/bad", "\"rotation\" is not an invariance");
  const auto factory = [](const json&) { return std::make_shared<Scaled>(json{{"factor", 1}}); };
  CHECK_THROWS_WITH_ALL(source.add(ComponentKind::encoder, "e", factory, {{"invariances", json::array({"orthogonal"})}}),
                        ConfigError,
                        "encoder/e", "only similarities and measures declare invariances");
  // The options' schema passed as the declaration itself: named, with where it goes.
  CHECK_THROWS_WITH_ALL(source.add<Scaled>("schema", kScaledOptions), ConfigError, "similarity/schema",
                        "unknown key \"factor\"", "goes under \"options\"");
}

TEST_CASE("component kinds parse from their JSON spelling") {
  CHECK(parse_component_kind("dataset") == ComponentKind::dataset);
  CHECK(to_string(ComponentKind::aggregator) == "aggregator");
  CHECK_THROWS_WITH_ALL(parse_component_kind("similarty"), UnknownNameError, "Did you mean 'similarity'?");
}

TEST_CASE("examples select samples across every per-sample part and keep graph tensors") {
  Examples e;
  e.fields["x"] = at::arange(12, at::TensorOptions().dtype(at::kFloat)).reshape({4, 3});
  e.graph["edge_index"] = at::arange(6, at::TensorOptions().dtype(at::kLong)).reshape({2, 3});
  e.texts = {"a", "b", "c", "d"};
  e.labels = at::arange(4, at::TensorOptions().dtype(at::kLong)) * 10;
  e.indices = at::arange(4, at::TensorOptions().dtype(at::kLong));
  CHECK(e.size() == 4);
  const Examples s = e.select(at::arange(3, 0, -2, at::TensorOptions().dtype(at::kLong)));  // rows 3, 1
  CHECK(s.size() == 2);
  CHECK(s.texts == std::vector<std::string>{"d", "b"});
  CHECK(s.labels[0].item<int64_t>() == 30);
  CHECK(s.indices[1].item<int64_t>() == 1);
  CHECK(s.field("x")[0][0].item<float>() == 9.0f);
  CHECK(s.graph.at("edge_index").equal(e.graph.at("edge_index")));
  CHECK_THROWS_WITH_ALL(s.field("image"), ConfigError, "no field 'image'", "Fields: x");
  CHECK_THROWS_WITH_ALL(e.select(at::arange(5, 6, at::TensorOptions().dtype(at::kLong))), ShapeError, "row 5 out of range");
  e.texts.pop_back();
  CHECK_THROWS_WITH_ALL(e.validate(), ShapeError, "3 texts for 4 samples");
}

#include <cmath>
#include "bridges/error.hpp"
#include "bridges/options.hpp"
#include "bridges/util/messages.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("cosine", "cosine") == 0);
  CHECK(edit_distance("cosine", "cosnie") == 1);  // adjacent swap
  CHECK(edit_distance("l1", "linf") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest name suggests plausible typos only") {
  const std::vector<std::string> names{"cosine", "euclidean", "l1", "linf"};
  CHECK(closest_name("cosnie", names) == std::optional<std::string>("cosine"));
  CHECK(closest_name("euclidian", names) == std::optional<std::string>("euclidean"));
  CHECK_FALSE(closest_name("mahalanobis", names).has_value());
  CHECK(closest_name("euclid", names) == std::optional<std::string>("euclidean"));  // a prefix
  CHECK_FALSE(closest_name("zq", names).has_value());  // two edits in two letters is no typo
  CHECK(closest_name("lnf", names) == std::optional<std::string>("linf"));
  CHECK(did_you_mean("lnf", names) == " Did you mean 'linf'?");
  CHECK(did_you_mean("zzzzzzzz", names).empty());
}

TEST_CASE("split_list trims blanks and drops empty items") {
  CHECK(split_list("cosine, l1 ,,linf") == std::vector<std::string>{"cosine", "l1", "linf"});
  CHECK(split_list("").empty());
  CHECK(split_list("a:b", ':') == std::vector<std::string>{"a", "b"});
}

TEST_CASE("unknown names list what exists and the closest") {
  CHECK_THROWS_WITH_ALL(throw_unknown_name("similarity", "cosnie", {"cosine", "l1"}), UnknownNameError,
                        "similarity 'cosnie' does not exist", "Did you mean 'cosine'?", "Available: cosine, l1.");
}

TEST_CASE("option schema fills defaults and keeps given values") {
  const auto schema = OptionSchema::parse(
      json::parse(R"({"eps": {"type": "number", "default": 1e-8, "minimum": 0},
                      "k": {"type": "integer", "default": 10},
                      "mode": {"type": "string", "default": "mean", "enum": ["mean", "max"]},
                      "p": {"type": "number", "default": null, "minimum": 1}})"),
      "similarity/test");
  const json filled = schema.apply(json::object(), "similarity/test");
  CHECK(filled == json::parse(R"({"eps": 1e-8, "k": 10, "mode": "mean", "p": null})"));
  const json given = schema.apply({{"k", 3.0}, {"mode", "max"}, {"p", 4}}, "similarity/test");
  CHECK(given["k"].is_number_integer());  // an integral float is accepted as an integer
  CHECK(given["k"] == 3);
  CHECK(given["mode"] == "max");
  CHECK(given["p"] == 4);
  CHECK(schema.names() == std::vector<std::string>{"eps", "k", "mode", "p"});
  CHECK_FALSE(schema.has_required());
}

TEST_CASE("option schema rejects bad options with the option, the expectation and the value") {
  const auto schema = OptionSchema::parse(
      json::parse(R"({"eps": {"type": "number", "default": 1e-8, "minimum": 0},
                      "k": {"type": "integer", "default": 10, "maximum": 100},
                      "mode": {"type": "string", "default": "mean", "enum": ["mean", "max"]},
                      "path": {"type": "string"}})"),
      "encoder/x");
  CHECK(schema.has_required());
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", "a"}, {"esp", 1}}, "encoder/x"), ConfigError, "encoder/x",
                        "unknown option 'esp'", "Did you mean 'eps'?");
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", "a"}, {"eps", -1}}, "encoder/x"), ConfigError, "option 'eps'",
                        "a number >= 0", "found -1");
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", "a"}, {"k", 2.5}}, "encoder/x"), ConfigError, "an integer");
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", "a"}, {"k", 101}}, "encoder/x"), ConfigError, "<= 100");
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", "a"}, {"mode", "median"}}, "encoder/x"), ConfigError,
                        R"(one of ["mean","max"])", "\"median\"");
  CHECK_THROWS_WITH_ALL(schema.apply({{"path", nullptr}}, "encoder/x"), ConfigError, "option 'path'", "found null");
  CHECK_THROWS_WITH_ALL(schema.apply(json::object(), "encoder/x"), ConfigError, "option 'path' is required");
  CHECK_THROWS_WITH_ALL(schema.apply(json::array(), "encoder/x"), ConfigError, "must be a JSON object");
}

TEST_CASE("option schema: an exclusive minimum and a list of types") {
  const auto schema = OptionSchema::parse(
      json::parse(R"({"sigma": {"type": "number", "exclusiveMinimum": 0, "default": 1},
                      "projections": {"type": ["string", "array"], "default": "all"}})"),
      "similarity/rbf");
  CHECK(schema.apply({{"sigma", 1e-9}}, "similarity/rbf")["sigma"] == 1e-9);
  CHECK_THROWS_WITH_ALL(schema.apply({{"sigma", 0}}, "similarity/rbf"), ConfigError, "option 'sigma'",
                        "a number > 0", "found 0");
  // NaN passed the bound (NaN <= 0 is false) and JSON wrote it back as null: refused, as an infinity is.
  for (const double bad : {std::nan(""), HUGE_VAL})
    CHECK_THROWS_WITH_ALL(schema.apply({{"sigma", bad}}, "similarity/rbf"), ConfigError, "option 'sigma'",
                          "found a NaN or an infinity");
  CHECK_THROWS_WITH_ALL(schema.apply({{"projections", json::array({1.0, std::nan("")})}}, "similarity/rbf"),
                        ConfigError, "option 'projections'", "NaN");
  CHECK(schema.apply({{"projections", json::array({"cosine"})}}, "similarity/rbf")["projections"] ==
        json::array({"cosine"}));
  CHECK(schema.apply({{"projections", "each"}}, "similarity/rbf")["projections"] == "each");
  CHECK_THROWS_WITH_ALL(schema.apply({{"projections", 3}}, "similarity/rbf"), ConfigError,
                        "must be a string or an array", "found 3");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": ["string", "float"]}})"), "x/y"),
                        ConfigError, "type \"float\" is not one of");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": []}})"), "x/y"), ConfigError,
                        "\"type\" is missing");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": "number", "exclusiveMinimum": 0, "default": 0}})"),
                                            "x/y"),
                        ConfigError, "the default 0 is not a number > 0");
}

TEST_CASE("option schema declarations are checked when parsed") {
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": "float"}})"), "x/y"), ConfigError,
                        "option 'a'", "type \"float\" is not one of");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": "number", "defualt": 1}})"), "x/y"),
                        ConfigError, "unknown key \"defualt\"", "Did you mean 'default'?");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": {"type": "integer", "default": "x"}})"), "x/y"),
                        ConfigError, "the default \"x\" is not an integer");
  CHECK_THROWS_WITH_ALL(OptionSchema::parse(json::parse(R"({"a": 3})"), "x/y"), ConfigError, "must be declared as an object");
  CHECK_THROWS_AS(OptionSchema::parse(json::parse("[]"), "x/y"), ConfigError);
  CHECK(OptionSchema().apply(json(nullptr), "x/y") == json::object());
  CHECK_THROWS_WITH_ALL(OptionSchema().apply({{"a", 1}}, "x/y"), ConfigError, "It takes no options");
}

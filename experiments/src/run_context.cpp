#include "run_context.hpp"

#include "bridges/experiments/stitching_matrix.hpp"

#include "bridges/util/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "bridges/aggregator.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/build_info.hpp"
#include "bridges/experiments/fingerprint.hpp"

namespace bridges {

using nlohmann::json;

RunContext::RunContext(const Pipeline& pipeline, ComponentSource& source, std::filesystem::path out,
                       std::filesystem::path cache, std::ostream& log)
    : p_(pipeline),
      source_(source),
      out_(std::move(out)),
      cache_(std::move(cache)),
      log_(log),
      start_(std::chrono::steady_clock::now()) {}

void RunContext::note(const std::string& text) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string line = fmt::format("[{:7.1f}s] {}", t, text);
  steps_.push_back({{"step", text}, {"seconds", std::round((t - last_note_) * 10) / 10}});
  last_note_ = t;
  log_ << line << '\n' << std::flush;
  logfile_ << line << '\n' << std::flush;
}

Names RunContext::encoder_names() const {
  Names out;
  for (const auto& e : encoders_) out.push_back(e.name);
  return out;
}

const std::string& RunContext::group(const EncoderState& e) const { return p_.encoder(e.name).group; }

Names RunContext::projection_names() const { return p_.projection_names(); }

std::vector<Tensor> RunContext::space(const EncoderState& e, const Names& set, bool train) const {
  std::vector<Tensor> out;
  for (const auto& name : set) out.push_back(train ? e.rel.at(name).first : e.rel.at(name).second);
  return out;
}

std::vector<Names> RunContext::expand_sets(const json& sets) const { return p_.projection_sets(sets); }

std::vector<json> RunContext::aggregators(const json& names) const { return p_.aggregator_specs(names); }

std::vector<uint64_t> RunContext::decoder_seeds() const { return p_.decoder["seeds"].get<std::vector<uint64_t>>(); }

std::string RunContext::decoder_key(const Names& set, const json& aggregator, std::size_t i, uint64_t seed) const {
  json projections = json::array();
  for (const auto& name : set) {
    const auto& pr = p_.projection(name);
    projections.push_back({{"spec", pr.spec}, {"negated", pr.negated}});
  }
  json encoder_keys = json::array();
  for (const auto& e : encoders_) encoder_keys.push_back(e.key);
  const json key{{"format", 1},  // raise when what a decoder computes changes
                 {"build", std::string(build_id())},
                 {"dataset", p_.dataset},
                 {"classes", classes_},
                 {"train", Fingerprint().add(train_.indices).add(train_labels_).hex()},
                 {"test", Fingerprint().add(test_.indices).add(test_labels_).hex()},
                 {"anchors", Fingerprint().add(anchors_).hex()},
                 {"normalize", p_.normalize},
                 {"projections", projections},
                 {"aggregator", aggregator},
                 {"decoder", p_.decoder_options(seed).to_json()},
                 {"seed", seed},
                 {"encoders", encoder_keys},
                 {"trained_on", i}};
  return Fingerprint().add(key).hex();
}

namespace {

// The checksum a cached decoder file carries over its scores.
std::string scores_check(const json& scores) {
  return Fingerprint().add(json{{"accuracy", scores["accuracy"]}, {"macro_f1", scores["macro_f1"]}, {"fit", scores["fit"]}}).hex();
}

// A decoder's cached scores, or null when absent, unreadable or not matching
// its checksum (then it is trained again: a damaged file costs time, never a
// wrong number).
json read_cached_decoder(const std::filesystem::path& file, std::size_t m) {
  if (!std::filesystem::exists(file)) return nullptr;
  try {
    json j = parse_json(read_text(file), file.string(), "");
    const auto good = [&](const char* key) {
      if (!j.contains(key) || !j[key].is_array() || j[key].size() != m) return false;
      return std::all_of(j[key].begin(), j[key].end(), [](const json& v) { return v.is_number(); });
    };
    if (good("accuracy") && good("macro_f1") && j.contains("fit") && j["fit"].is_object() && j.contains("check") &&
        j["check"] == scores_check(j))
      return j;
  } catch (const Error&) {
  }
  return nullptr;
}

}  // namespace

namespace {

std::filesystem::path result_file(const std::filesystem::path& cache, const std::string& kind, const std::string& decoder,
                                  const json& extra) {
  return cache / kind / (Fingerprint().add(json{{"decoder", decoder}, {"extra", extra}}).hex() + ".json");
}

}  // namespace

std::string RunContext::absolute_key(std::size_t i, uint64_t seed) const {
  json encoder_keys = json::array();
  for (const auto& e : encoders_) encoder_keys.push_back(e.key);
  // What decides a decoder on raw latents: not the anchors, projections or
  // aggregator of the relative ones.
  const json key{{"format", 1},
                 {"kind", "absolute"},
                 {"build", std::string(build_id())},
                 {"dataset", p_.dataset},
                 {"classes", classes_},
                 {"train", Fingerprint().add(train_.indices).add(train_labels_).hex()},
                 {"test", Fingerprint().add(test_.indices).add(test_labels_).hex()},
                 {"decoder", p_.decoder_options(seed).to_json()},
                 {"seed", seed},
                 {"encoders", encoder_keys},
                 {"trained_on", i}};
  return Fingerprint().add(key).hex();
}

json RunContext::cached_result(const std::string& kind, const Names& set, const json& aggregator, std::size_t i,
                               uint64_t seed, const json& extra) const {
  return cached_result(kind, decoder_key(set, aggregator, i, seed), extra);
}

void RunContext::cache_result(const std::string& kind, const Names& set, const json& aggregator, std::size_t i,
                              uint64_t seed, const json& extra, const json& value) const {
  cache_result(kind, decoder_key(set, aggregator, i, seed), extra, value);
}

bool RunContext::holds_decoder(const Names& set, const json& aggregator, std::size_t i, uint64_t seed) const {
  const auto file = cache_ / "decoders" / (decoder_key(set, aggregator, i, seed) + ".json");
  return std::filesystem::exists(file) && !read_cached_decoder(file, encoders_.size()).is_null();
}

json RunContext::cached_result(const std::string& kind, const std::string& decoder, const json& extra) const {
  const auto file = result_file(cache_, kind, decoder, extra);
  if (!std::filesystem::exists(file)) return nullptr;
  try {
    const json j = parse_json(read_text(file), file.string(), "");
    if (j.is_object() && j.contains("value") && j.contains("check") && j["check"] == Fingerprint().add(j["value"]).hex())
      return j["value"];
  } catch (const Error&) {
  }
  return nullptr;
}

void RunContext::cache_result(const std::string& kind, const std::string& decoder, const json& extra,
                              const json& value) const {
  const auto file = result_file(cache_, kind, decoder, extra);
  std::filesystem::create_directories(file.parent_path());
  write_text_atomically(file, json{{"value", value}, {"check", Fingerprint().add(value).hex()}}.dump() + "\n");
}

json RunContext::stitch(const Names& set, const json& aggregator) {
  const std::string key = fmt::format("{}|{}", join(set, "+"), aggregator["type"].get<std::string>());
  json& done = memo("stitch " + key);
  if (!done.is_null()) return done;
  const std::size_t m = encoders_.size();
  const auto seeds = decoder_seeds();
  Cube acc(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m))), f1 = acc;
  const int64_t k = anchors_.size(0);
  const bool early = p_.decoder_options(0).patience > 0;
  json epochs = json::object();  // under early stopping: the epochs each decoder trained, and the one it kept
  std::size_t cached = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t s = 0; s < seeds.size(); ++s) {
      throw_if_interrupted();
      const std::filesystem::path file = cache_ / "decoders" / (decoder_key(set, aggregator, i, seeds[s]) + ".json");
      json scores = read_cached_decoder(file, m);
      ++decoders_done_;
      if (scores.is_null()) {
        const auto started = std::chrono::steady_clock::now();
        RelativeClassifier model(source_.make_from_json<Aggregator>(aggregator), static_cast<int64_t>(set.size()), k,
                                 classes_, p_.decoder_options(seeds[s]));
        const FitReport fit = model.fit(space(encoders_[i], set, true), train_labels_,
                                        fmt::format("{} on {} (seed {})", key, encoders_[i].name, seeds[s]));
        scores = {{"accuracy", json::array()}, {"macro_f1", json::array()},
                  {"fit", {{"epochs", fit.epochs}, {"best_epoch", fit.best_epoch}, {"val_loss", fit.val_loss}}}};
        for (std::size_t j = 0; j < m; ++j) {
          const Scores sc = classification_scores(model.predict(space(encoders_[j], set, false)), test_labels_, classes_);
          scores["accuracy"].push_back(sc.accuracy);
          scores["macro_f1"].push_back(sc.macro_f1);
        }
        scores["check"] = scores_check(scores);
        std::filesystem::create_directories(file.parent_path());
        write_text_atomically(file, scores.dump() + "\n");
        ++decoders_trained_;
        training_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      } else {
        ++cached;
      }
      for (std::size_t j = 0; j < m; ++j) {
        acc[s][i][j] = scores["accuracy"][j].get<double>();
        f1[s][i][j] = scores["macro_f1"][j].get<double>();
      }
      if (early) {
        json fit = scores["fit"];
        fit["seed"] = seeds[s];
        epochs[encoders_[i].name].push_back(fit);
      }
    }
  if (cached > 0) note(fmt::format("stitching {}: {} of {} decoders from the cache", key, cached, m * seeds.size()));
  json out = stitching_result(acc, f1, set, aggregator["type"]);
  if (!epochs.empty()) out["decoder_epochs"] = epochs;
  add_pair_groups(out, acc);
  note(fmt::format("stitching {}: end to end {:.4f}, stitched {:.4f}, index {:.3f}{}", key,
                   out["summary"]["end_to_end"]["accuracy"]["mean"].get<double>(),
                   out["summary"]["stitched"]["accuracy"]["mean"].get<double>(),
                   out["summary"]["index"]["mean"].get<double>(), progress_note()));
  done = out;
  return out;
}

std::string RunContext::progress_note() const {
  if (decoders_planned_ == 0) return "";
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string out = fmt::format(" [{} of {} decoders, {} so far", decoders_done_, decoders_planned_, format_duration(elapsed));
  // Left: the rest at the pace of the decoders trained so far. Not a
  // bound: a slower aggregator still to come (attention after sum) takes
  // longer, a decoder the cache holds no time; `run --dry-run` times each
  // kind ahead.
  if (decoders_trained_ > 0 && decoders_done_ < decoders_planned_)
    out += fmt::format(", about {} left at the pace so far",
                       format_duration(static_cast<double>(decoders_planned_ - decoders_done_) * training_seconds_ /
                               static_cast<double>(decoders_trained_)));
  return out + "]";
}

RelativeClassifier& RunContext::absolute_decoder(std::size_t i, uint64_t seed) {
  auto& model = absolute_[{i, seed}];
  if (!model) {
    const EncoderState& e = encoders_.at(i);
    model = std::make_shared<RelativeClassifier>(nullptr, 1, e.train.size(1), classes_, p_.decoder_options(seed));
    model->fit({e.train}, train_labels_, fmt::format("absolute on {} (seed {})", e.name, seed));
  }
  return *model;
}

// Pairs are grouped as "gcn (across seeds)" or "gcn ↔ graphsage" (both
// directions). Per decoder seed the mean over the group's pairs, then mean
// and std over seeds, as the summary.
// The pair groups and the summary are the public StitchingMatrix's, so that
// a host program computes the very numbers results.json holds.
void RunContext::add_pair_groups(json& out, const Cube& acc) const {
  std::vector<std::string> names, group;
  for (const auto& e : encoders_) {
    names.push_back(e.name);
    group.push_back(this->group(e));
  }
  const auto groups = StitchingMatrix(names, acc).pair_groups(group);
  if (groups.empty()) return;
  json by_name = json::object();
  for (const auto& g : groups)
    by_name[g.name] = {{"pairs", g.pairs.size()}, {"stitched", to_json(g.stitched)}, {"index", to_json(g.index)}};
  out["summary"]["groups"] = by_name;
}

// Cubes are [seed][trained on][evaluated on] (NaN: not evaluated). The
// index divides by the target's own end-to-end accuracy.
json RunContext::stitching_result(const Cube& acc, const Cube& f1, const json& projections, const json& aggregator) {
  const std::vector<std::string> names(acc.at(0).size());  // unnamed: only the numbers are read
  const StitchingMatrix accuracy(names, acc), macro_f1(names, f1);
  return {{"projections", projections},
          {"aggregator", aggregator},
          {"accuracy", matrix_stats(acc)},
          {"macro_f1", matrix_stats(f1)},
          {"index", matrix_stats(accuracy.index())},
          {"summary",
           {{"end_to_end", {{"accuracy", to_json(accuracy.end_to_end())}, {"macro_f1", to_json(macro_f1.end_to_end())}}},
            {"stitched", {{"accuracy", to_json(accuracy.stitched())}, {"macro_f1", to_json(macro_f1.stitched())}}},
            {"index", to_json(accuracy.stitching_index())}}}};
}

}  // namespace bridges

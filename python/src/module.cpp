// bridges._core: the C++ side of `import bridges`. The Python package
// (python/bridges/__init__.py) wraps it into the public API; nothing here
// copies a tensor: torch.Tensor arguments are the tensors themselves, NumPy
// arrays are viewed in place (convert.cpp), and results are returned as
// torch.Tensors that own the memory bridges wrote.
#include <torch/csrc/utils/pybind.h>
#include <pybind11/functional.h>

#include <ATen/Parallel.h>
#include <torch/utils.h>
#include <fmt/format.h>

#include <csignal>
#include <mutex>
#include <sstream>

#include "bridges/aggregator.hpp"
#include "bridges/build_info.hpp"
#include "bridges/error.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/experiments/stitching_matrix.hpp"
#include "bridges/measure.hpp"
#include "bridges/relative/anchors.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/similarity.hpp"
#include "bridges/translator.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/paths.hpp"
#include "bridges/util/random.hpp"
#include "bridges/util/runtime.hpp"
#include "convert.hpp"
#include "python_source.hpp"

namespace py = pybind11;
using nlohmann::json;
using namespace bridges;
using bridges::python::from_json;
using bridges::python::PythonSource;
using bridges::python::to_json;
using bridges::python::to_optional_tensor;
using bridges::python::to_tensor;

namespace {

PythonSource& source() { return PythonSource::instance(); }

struct AggregatorHandle {
  std::shared_ptr<Aggregator> aggregator;
  Aggregator& get() const { return *aggregator; }
};

std::vector<at::Tensor> to_tensors(const py::sequence& items, const std::string& where) {
  std::vector<at::Tensor> out;
  for (std::size_t i = 0; i < items.size(); ++i) out.push_back(to_tensor(items[i], fmt::format("{}[{}]", where, i)));
  return out;
}

py::list to_list(const std::vector<at::Tensor>& tensors) {
  py::list out;
  for (const auto& t : tensors) out.append(py::cast(t));
  return out;
}

py::dict info_dict(const ComponentInfo& info) {
  py::dict d;
  d["kind"] = std::string(to_string(info.kind));
  d["name"] = info.name;
  d["description"] = info.description;
  d["provider"] = info.provider;
  d["options"] = from_json(info.options.spec());
  if (info.kind == ComponentKind::similarity || info.kind == ComponentKind::measure) {
    d["invariances"] = from_json(info.invariances.to_json());
    d["direction"] = info.direction;
  }
  if (info.kind == ComponentKind::aggregator) d["symmetric"] = info.symmetric;
  return d;
}

py::dict mean_std(const MeanStd& m) {
  py::dict d;
  d["mean"] = m.mean;
  d["std"] = m.std;
  d["count"] = m.count;
  return d;
}

// SIGINT during a long call: the C++ loops check bridges' interrupt flag
// (Python's own handler would only run after the call returns), and the
// call ends with KeyboardInterrupt. Calls may overlap (Python threads): the
// first to enter installs the handler and the last to leave restores
// Python's, so a Ctrl-C stops every call in progress and none is left
// holding SIGINT.
class InterruptScope {
 public:
  InterruptScope() {
    std::lock_guard lock(mutex());
    if (active()++ == 0) {
      clear_interrupt();
      previous() = std::signal(SIGINT, [](int) { request_interrupt(); });
    }
  }
  ~InterruptScope() {
    std::lock_guard lock(mutex());
    if (--active() == 0) {
      std::signal(SIGINT, previous());
      clear_interrupt();
    }
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& active() {
    static int count = 0;
    return count;
  }
  static void (*&previous())(int) {
    static void (*handler)(int) = SIG_DFL;
    return handler;
  }
};

// A component kind as Python sees it: its class (type, to_json) and the
// factory make_<kind>(name, options) through the process's source.
template <class T>
py::class_<T, std::shared_ptr<T>> bind_component(py::module_& m, const char* class_name, const char* factory) {
  m.def(
      factory,
      [](const std::string& name, py::dict options) { return source().make<T>(name, to_json(options, "options")); },
      py::arg("name"), py::arg("options"));
  return py::class_<T, std::shared_ptr<T>>(m, class_name)
      .def_property_readonly("type", &T::type)
      .def("to_json", [](const T& c) { return from_json(c.to_json()); });
}

Pipeline pipeline_of(py::handle pipeline) {
  if (py::isinstance<py::dict>(pipeline)) return Pipeline::parse(to_json(pipeline, "pipeline"), source(), "pipeline");
  const std::string path = py::str(pipeline).cast<std::string>();  // str or os.PathLike
  return Pipeline::load(path, source());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "bridges' C++ core (use the `bridges` package, not this module)";

  // One exception hierarchy, as in C++; the messages are the CLI's.
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  static py::exception<NotImplemented> not_implemented(m, "NotImplementedError", error.ptr());
  static py::exception<IoError> io_error(m, "IoError", error.ptr());
  static py::exception<FormatError> format_error(m, "FormatError", error.ptr());
  static py::exception<ShapeError> shape_error(m, "ShapeError", error.ptr());
  static py::exception<UndefinedMeasureError> undefined(m, "UndefinedMeasureError", shape_error.ptr());
  static py::exception<NonFiniteError> non_finite(m, "NonFiniteError", error.ptr());
  static py::exception<ConfigError> config_error(m, "ConfigError", error.ptr());
  static py::exception<UnknownNameError> unknown_name(m, "UnknownNameError", config_error.ptr());
  static py::exception<ManifestError> manifest_error(m, "ManifestError", error.ptr());
  static py::exception<LoadError> load_error(m, "LoadError", error.ptr());
  static py::exception<AbiMismatchError> abi_error(m, "AbiMismatchError", error.ptr());
  static py::exception<CreateError> create_error(m, "CreateError", error.ptr());
  // The most derived first: the first translator that matches wins.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const UndefinedMeasureError& e) {
      undefined(e.what());
    } catch (const ShapeError& e) {
      shape_error(e.what());
    } catch (const UnknownNameError& e) {
      unknown_name(e.what());
    } catch (const ConfigError& e) {
      config_error(e.what());
    } catch (const NotImplemented& e) {
      not_implemented(e.what());
    } catch (const IoError& e) {
      io_error(e.what());
    } catch (const FormatError& e) {
      format_error(e.what());
    } catch (const NonFiniteError& e) {
      non_finite(e.what());
    } catch (const ManifestError& e) {
      manifest_error(e.what());
    } catch (const LoadError& e) {
      load_error(e.what());
    } catch (const AbiMismatchError& e) {
      abi_error(e.what());
    } catch (const CreateError& e) {
      create_error(e.what());
    } catch (const Error& e) {
      error(e.what());
    }
  });

  m.def("version", [] { return std::string(version()); });
  m.def("build_info", [] {
    py::dict d;
    d["version"] = std::string(version());
    d["commit"] = std::string(build_commit());
    d["build_id"] = std::string(build_id());
    d["kernel_isa"] = std::string(kernels::isa());
    d["blas"] = blas_kernels();
    d["threads"] = at::get_num_threads();
    return d;
  });

  m.def("set_threads", &set_threads, py::arg("threads"));
  m.def("keep_freed_memory", &keep_freed_memory);
  m.def("components", [] {
    py::list out;
    for (const auto& info : source().components()) out.append(info_dict(info));
    return out;
  });
  m.def("component_info", [](const std::string& kind, const std::string& name) {
    return info_dict(source().info(parse_component_kind(kind), name));
  });
  m.def("plugin_warnings", [] { return source().registry().warnings(); });

  // ---- similarities and relative projection
  bind_component<Similarity>(m, "Similarity", "make_similarity")
      // Immutable: a deep copy (of a RelativeLayer, say) may share it; a
      // pickle is its spec, made again where it is loaded.
      .def("__deepcopy__", [](py::object self, py::handle) { return self; })
      .def(py::pickle([](const Similarity& s) { return py::str(s.to_json().dump()); },
                      [](const py::str& spec) {
                        return source().make_from_json<Similarity>(json::parse(spec.cast<std::string>()));
                      }))
      .def(
          "project",
          [](const Similarity& s, py::handle x, py::handle anchors) {
            const at::Tensor tx = to_tensor(x, "x"), ta = to_tensor(anchors, "anchors");
            py::gil_scoped_release release;
            return s.project(tx, ta);
          },
          py::arg("x"), py::arg("anchors"));
  m.def(
      "relative",
      [](py::handle x, py::handle anchors, const std::vector<std::shared_ptr<Similarity>>& similarities,
         const std::string& normalize) {
        const at::Tensor tx = to_tensor(x, "x"), ta = to_tensor(anchors, "anchors");
        const SubspaceNorm norm = parse_subspace_norm(normalize);
        std::vector<std::shared_ptr<const Similarity>> list(similarities.begin(), similarities.end());
        std::vector<at::Tensor> spaces;
        {
          py::gil_scoped_release release;
          spaces = RelativeProjector(ta, list, norm).project(tx);
        }
        return to_list(spaces);
      },
      py::arg("x"), py::arg("anchors"), py::arg("similarities"), py::arg("normalize"));
  m.def(
      "select_anchors",
      [](const std::string& strategy, int64_t count, uint64_t seed, py::handle latents, py::handle labels) {
        const at::Tensor tl = to_optional_tensor(latents, "latents"), ty = to_optional_tensor(labels, "labels");
        py::gil_scoped_release release;
        return select_anchors(strategy, count, seed, ty, tl);
      },
      py::arg("strategy"), py::arg("count"), py::arg("seed"), py::arg("latents"), py::arg("labels"));
  m.def("anchor_strategies", [] { return anchor_strategies(); });
  m.def(
      "register_similarity",
      [](const std::string& name, py::function function, py::dict declaration) {
        source().add_similarity(name, std::move(function), to_json(declaration, "declaration"));
      },
      py::arg("name"), py::arg("function"), py::arg("declaration"));

  // ---- measures and translators
  bind_component<Measure>(m, "Measure", "make_measure")
      .def(
          "compare",
          [](const Measure& measure, py::handle a, py::handle b) {
            const at::Tensor ta = to_tensor(a, "a"), tb = to_tensor(b, "b");
            py::gil_scoped_release release;
            return measure.compare(ta, tb);
          },
          py::arg("a"), py::arg("b"));

  bind_component<Translator>(m, "Translator", "make_translator")
      .def(
          "fit",
          [](Translator& t, py::handle source_anchors, py::handle target_anchors) {
            const at::Tensor s = to_tensor(source_anchors, "source"), d = to_tensor(target_anchors, "target");
            py::gil_scoped_release release;
            t.fit(s, d);
          },
          py::arg("source"), py::arg("target"))
      .def(
          "translate",
          [](const Translator& t, py::handle x) {
            const at::Tensor tx = to_tensor(x, "x");
            py::gil_scoped_release release;
            return t.translate(tx);
          },
          py::arg("x"))
      .def_property_readonly("fitted", &Translator::fitted)
      .def_property_readonly("source_dim", &Translator::source_dim)
      .def_property_readonly("target_dim", &Translator::target_dim);

  // ---- aggregators (wrapped as torch.nn.Modules by the package)
  // Held through a plain handle: pybind11's holder logic mishandles a class
  // whose first base (torch::nn::Module, with enable_shared_from_this) it
  // does not know (the value pointer it kept was not the Aggregator's).
  py::class_<AggregatorHandle>(m, "Aggregator")
      .def_property_readonly("type", [](const AggregatorHandle& a) { return a.get().type(); })
      .def("to_json", [](const AggregatorHandle& a) { return from_json(a.get().to_json()); })
      .def(
          "output_dim", [](const AggregatorHandle& a, int64_t s, int64_t k) { return a.get().output_dim(s, k); },
          py::arg("num_subspaces"), py::arg("k"))
      .def(
          "aggregate",
          [](AggregatorHandle& a, const py::sequence& subspaces) {
            const auto list = to_tensors(subspaces, "subspaces");
            py::gil_scoped_release release;
            return a.get().aggregate(list);
          },
          py::arg("subspaces"))
      .def("attention", [](const AggregatorHandle& a) { return a.get().attention(); })
      .def("train", [](AggregatorHandle& a, bool mode) { a.get().train(mode); }, py::arg("mode"))
      .def("named_parameters",
           [](AggregatorHandle& a) {
             py::list out;
             for (const auto& item : a.get().named_parameters(true))
               out.append(py::make_tuple(item.key(), item.value()));
             return out;
           })
      .def("named_buffers", [](AggregatorHandle& a) {
        py::list out;
        for (const auto& item : a.get().named_buffers(true)) out.append(py::make_tuple(item.key(), item.value()));
        return out;
      });
  m.def(
      "new_aggregator",
      [](const std::string& name, py::dict options) {
        // not built: a classifier builds it
        return AggregatorHandle{source().make<Aggregator>(name, to_json(options, "options"))};
      },
      py::arg("name"), py::arg("options"));
  m.def(
      "make_aggregator",
      [](const std::string& name, py::dict options, int64_t num_subspaces, int64_t k, uint64_t seed) {
        auto aggregator = source().make<Aggregator>(name, to_json(options, "options"));
        if (num_subspaces < 1 || k < 1)
          throw ConfigError(fmt::format("aggregator/{}: subspaces and anchors must be at least 1, found {} and {}.",
                                        name, num_subspaces, k));
        std::lock_guard lock(torch_rng_mutex());
        torch::manual_seed(seed);
        aggregator->build(num_subspaces, k);
        return AggregatorHandle{aggregator};
      },
      py::arg("name"), py::arg("options"), py::arg("num_subspaces"), py::arg("k"), py::arg("seed"));

  // ---- the relative classifier and zero-shot stitching
  py::class_<RelativeClassifier>(m, "RelativeClassifier")
      .def(py::init([](std::optional<AggregatorHandle> aggregator, int64_t num_subspaces, int64_t k, int64_t classes,
                       py::dict options, uint64_t seed) {
             DecoderOptions o = DecoderOptions::from_json(to_json(options, "options"));
             o.seed = seed;
             return std::make_unique<RelativeClassifier>(aggregator ? aggregator->aggregator : nullptr, num_subspaces, k,
                                                         classes, o);
           }),
           py::arg("aggregator"), py::arg("num_subspaces"), py::arg("k"), py::arg("classes"), py::arg("options"),
           py::arg("seed"))
      .def(
          "fit",
          [](RelativeClassifier& c, const py::sequence& subspaces, py::handle labels) {
            const auto list = to_tensors(subspaces, "subspaces");
            const at::Tensor y = to_tensor(labels, "labels");
            FitReport report;
            {
              InterruptScope interrupt;
              py::gil_scoped_release release;
              report = c.fit(list, y);
            }
            py::dict d;
            d["epochs"] = report.epochs;
            d["best_epoch"] = report.best_epoch;
            d["val_loss"] = report.val_loss;
            return d;
          },
          py::arg("subspaces"), py::arg("labels"))
      .def(
          "logits",
          [](RelativeClassifier& c, const py::sequence& subspaces) {
            const auto list = to_tensors(subspaces, "subspaces");
            py::gil_scoped_release release;
            return c.logits(list);
          },
          py::arg("subspaces"))
      .def(
          "predict",
          [](RelativeClassifier& c, const py::sequence& subspaces) {
            const auto list = to_tensors(subspaces, "subspaces");
            py::gil_scoped_release release;
            return c.predict(list);
          },
          py::arg("subspaces"))
      .def(
          "finetune",
          [](RelativeClassifier& c, const std::string& params, int64_t steps, double lr, const py::sequence& subspaces,
             py::handle labels, uint64_t seed) {
            const auto list = to_tensors(subspaces, "subspaces");
            const at::Tensor y = to_tensor(labels, "labels");
            InterruptScope interrupt;
            py::gil_scoped_release release;
            return c.finetune(params, steps, lr, list, y, seed);
          },
          py::arg("params"), py::arg("steps"), py::arg("lr"), py::arg("subspaces"), py::arg("labels"),
          py::arg("seed"));
  m.def(
      "classification_scores",
      [](py::handle predicted, py::handle labels, int64_t classes) {
        const Scores s = classification_scores(to_tensor(predicted, "predicted"), to_tensor(labels, "labels"), classes);
        py::dict d;
        d["accuracy"] = s.accuracy;
        d["macro_f1"] = s.macro_f1;
        return d;
      },
      py::arg("predicted"), py::arg("labels"), py::arg("classes"));

  m.def(
      "stitch",
      [](const py::dict& encoders, py::handle train_labels, py::handle test_labels, int64_t classes,
         py::dict aggregator, py::dict options, const std::vector<uint64_t>& seeds, py::handle groups) {
        std::vector<RelativeSpaces> spaces;
        for (const auto& [name, pair] : encoders) {
          const std::string n = py::str(name).cast<std::string>();
          const auto parts = pair.cast<py::sequence>();
          if (parts.size() != 2)
            throw ConfigError(fmt::format("encoders['{}']: expected (train subspaces, test subspaces)", n));
          spaces.push_back({n, to_tensors(parts[0].cast<py::sequence>(), n + ".train"),
                            to_tensors(parts[1].cast<py::sequence>(), n + ".test")});
        }
        const at::Tensor ytrain = to_tensor(train_labels, "train_labels"), ytest = to_tensor(test_labels, "test_labels");
        const json spec = to_json(aggregator, "aggregator");
        DecoderOptions o = DecoderOptions::from_json(to_json(options, "decoder"));
        std::optional<StitchingMatrix> matrix;
        {
          InterruptScope interrupt;
          py::gil_scoped_release release;
          matrix.emplace(stitch(spaces, ytrain, ytest, classes,
                                [&] { return source().make_from_json<Aggregator>(spec); }, o, seeds));
        }
        py::dict d;
        d["encoders"] = matrix->encoders();
        d["accuracy"] = matrix->accuracy();
        d["index"] = matrix->index();
        d["end_to_end"] = mean_std(matrix->end_to_end());
        d["stitched"] = mean_std(matrix->stitched());
        d["stitching_index"] = mean_std(matrix->stitching_index());
        d["pair_means"] = matrix->pair_means();
        if (!groups.is_none()) {
          py::list out;
          for (const auto& g : matrix->pair_groups(groups.cast<std::vector<std::string>>())) {
            py::dict group;
            group["name"] = g.name;
            group["pairs"] = g.pairs;
            group["stitched"] = mean_std(g.stitched);
            group["index"] = mean_std(g.index);
            out.append(group);
          }
          d["pair_groups"] = out;
        }
        return d;
      },
      py::arg("encoders"), py::arg("train_labels"), py::arg("test_labels"), py::arg("classes"),
      py::arg("aggregator"), py::arg("decoder"), py::arg("seeds"), py::arg("groups"));

  // ---- encoders on data sets (as `bridges encode`, sharing its cache)
  m.def(
      "encode",
      [](py::dict dataset_spec, py::dict encoder_spec, const std::string& split, const std::string& cache,
         bool use_cache) {
        auto dataset = source().make_from_json<Dataset>(to_json(dataset_spec, "dataset"));
        auto encoder = source().make_from_json<Encoder>(to_json(encoder_spec, "encoder"));
        py::dict out;
        Examples examples;
        at::Tensor latents;
        json quality;
        {
          InterruptScope interrupt;
          py::gil_scoped_release release;
          if (encoder->trainable()) {
            const Examples train = dataset->split("train");
            if (use_cache) {
              const CachedFit fit =
                  fit_cached(*encoder, train, cache.empty() ? cache_dir() / "encoders" : std::filesystem::path(cache));
              if (!fit.warning.empty()) std::cerr << "warning: " << fit.warning << '\n';
            } else {
              encoder->fit(train);
            }
          }
          examples = dataset->split(split);
          try {
            quality = encoder->quality(examples);
          } catch (const NotImplemented&) {
            // an encoder without an end-to-end task (precomputed latents, TorchScript)
          }
          latents = encoder->encode(examples);
        }
        out["latents"] = latents;
        out["labels"] = examples.labels.defined() ? py::cast(examples.labels) : py::none();
        out["indices"] = examples.indices.defined() ? py::cast(examples.indices) : py::none();
        out["quality"] = from_json(quality);
        out["encoder"] = from_json(encoder->to_json());
        return out;
      },
      py::arg("dataset"), py::arg("encoder"), py::arg("split"), py::arg("cache"), py::arg("use_cache"));

  // ---- pipelines
  m.def(
      "run",
      [](py::handle pipeline, const std::string& out, const std::string& cache) {
        const Pipeline p = pipeline_of(pipeline);
        RunOptions options;
        options.out = out;
        options.cache = cache;
        options.command = "python: bridges.run(...)";
        std::ostringstream log;
        json results;
        {
          InterruptScope interrupt;
          py::gil_scoped_release release;
          results = run_pipeline(p, source(), options, log);
        }
        return py::make_tuple(from_json(results), log.str());
      },
      py::arg("pipeline"), py::arg("out"), py::arg("cache"));
  m.def(
      "plan",
      [](py::handle pipeline, const std::string& out, const std::string& cache, bool estimate) {
        const Pipeline p = pipeline_of(pipeline);
        RunOptions options;
        options.out = out;
        options.cache = cache;
        py::gil_scoped_release release;
        return describe_plan(p, source(), options, estimate);
      },
      py::arg("pipeline"), py::arg("out"), py::arg("cache"), py::arg("estimate"));
  m.def(
      "resolve_pipeline", [](py::handle pipeline) { return from_json(pipeline_of(pipeline).to_json()); },
      py::arg("pipeline"));
}

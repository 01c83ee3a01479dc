// The Python module's ComponentSource, and similarities written in Python.
#include "python_source.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/python_variable.h>

#include "bridges/error.hpp"
#include "bridges/similarity.hpp"

namespace bridges::python {

namespace {

using nlohmann::json;

// A reference to a Python object that may be dropped by a C++ thread
// without the GIL (a similarity made inside a pipeline run).
struct PythonRef {
  explicit PythonRef(py::object object) : object(std::move(object)) {}
  ~PythonRef() {
    py::gil_scoped_acquire gil;
    object = py::object();
  }
  py::object object;
};

// Similarity NAME computed by a Python function; the core's project()
// checks its inputs and its result's finiteness as for any plugin.
class PythonSimilarity final : public Similarity {
 public:
  PythonSimilarity(std::string name, std::shared_ptr<PythonRef> function, json options)
      : name_(std::move(name)), function_(std::move(function)), options_(std::move(options)) {}

  std::string type() const override { return name_; }
  json to_json() const override {
    json out = options_;
    out["type"] = name_;
    return out;
  }

 protected:
  at::Tensor compute(const at::Tensor& x, const at::Tensor& anchors) const override {
    py::gil_scoped_acquire gil;
    py::dict kwargs;
    for (const auto& [key, value] : options_.items()) kwargs[py::str(key)] = from_json(value);
    const py::object result = function_->object(x, anchors, **kwargs);
    const std::string where = fmt::format("similarity/{} (a Python function)", name_);
    if (!THPVariable_Check(result.ptr()))
      throw ShapeError(fmt::format("{}: returned {}, expected a torch.Tensor [n, k] = [{}, {}]", where,
                                   py::str(py::type::handle_of(result).attr("__name__")).cast<std::string>(), x.size(0),
                                   anchors.size(0)));
    const at::Tensor r = THPVariable_Unpack(result.ptr());
    if (r.dim() != 2 || r.size(0) != x.size(0) || r.size(1) != anchors.size(0))
      throw ShapeError(fmt::format("{}: returned a tensor of shape {}, expected [n, k] = [{}, {}]", where,
                                   fmt::join(r.sizes(), ", "), x.size(0), anchors.size(0)));
    if (r.scalar_type() != x.scalar_type())
      throw ShapeError(fmt::format("{}: returned {}, expected the inputs' dtype {}", where,
                                   c10::toString(r.scalar_type()), c10::toString(x.scalar_type())));
    return r;
  }

 private:
  std::string name_;
  std::shared_ptr<PythonRef> function_;
  json options_;
};

}  // namespace

PythonSource& PythonSource::instance() {
  static PythonSource* source = new PythonSource();  // never destroyed: see the header
  return *source;
}

std::vector<ComponentInfo> PythonSource::components() const {
  std::vector<ComponentInfo> out = registry_.components();
  std::lock_guard lock(mutex_);
  for (const auto& [name, source] : python_)
    for (auto& info : source->components()) out.push_back(std::move(info));
  return out;
}

std::shared_ptr<Component> PythonSource::create(ComponentKind kind, std::string_view name, const json& options) {
  std::shared_ptr<InProcessSource> python;
  {
    std::lock_guard lock(mutex_);
    const auto it = python_.find(fmt::format("{}/{}", to_string(kind), name));
    if (it != python_.end()) python = it->second;
  }
  if (python) return python->create(kind, name, options);
  return registry_.create(kind, name, options);
}

void PythonSource::add_similarity(const std::string& name, py::function function, const json& declaration) {
  const std::string qualified = "similarity/" + name;
  for (const auto& info : registry_.components())
    if (info.qualified_name() == qualified)
      throw ConfigError(fmt::format("similarity '{}' is the plugin {}'s; give the Python similarity another name.",
                                    name, info.provider));
  auto source = std::make_shared<InProcessSource>();
  auto ref = std::make_shared<PythonRef>(std::move(function));
  source->add(
      ComponentKind::similarity, name,
      [name, ref](const json& options) -> std::shared_ptr<Component> {
        return std::make_shared<PythonSimilarity>(name, ref, options);
      },
      declaration);
  std::lock_guard lock(mutex_);
  python_[qualified] = std::move(source);
}

}  // namespace bridges::python

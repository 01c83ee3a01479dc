// JSON and tensors between Python and bridges.
#include "convert.hpp"

#include <ATen/ops/from_blob.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/python_variable.h>

#include <memory>

namespace bridges::python {

using nlohmann::json;

json to_json(py::handle value, const std::string& where) {
  if (value.is_none()) return nullptr;
  // bool before int: True is an int in Python.
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::int_>(value)) {
    try {
      return value.cast<int64_t>();
    } catch (const py::cast_error&) {
      return value.cast<uint64_t>();
    }
  }
  if (py::isinstance<py::float_>(value)) return value.cast<double>();
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::dict>(value)) {
    json out = json::object();
    for (const auto& [key, item] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key))
        throw py::type_error(fmt::format("{}: keys must be strings, found {}", where, py::str(py::repr(key)).cast<std::string>()));
      const auto name = key.cast<std::string>();
      out[name] = to_json(item, where + "." + name);
    }
    return out;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    json out = json::array();
    std::size_t i = 0;
    for (const auto& item : value) out.push_back(to_json(item, fmt::format("{}[{}]", where, i++)));
    return out;
  }
  // NumPy scalars and other numbers: through their Python value.
  if (py::hasattr(value, "item") && py::hasattr(value, "dtype") && py::len(value.attr("shape")) == 0)
    return to_json(value.attr("item")(), where);
  throw py::type_error(fmt::format("{}: expected a JSON value (dict, list, str, number, bool or None), found {}", where,
                                   py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>()));
}

py::object from_json(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return py::none();
    case json::value_t::boolean: return py::bool_(value.get<bool>());
    case json::value_t::number_integer: return py::int_(value.get<int64_t>());
    case json::value_t::number_unsigned: return py::int_(value.get<uint64_t>());
    case json::value_t::number_float: return py::float_(value.get<double>());
    case json::value_t::string: return py::str(value.get<std::string>());
    case json::value_t::array: {
      py::list out;
      for (const auto& item : value) out.append(from_json(item));
      return out;
    }
    case json::value_t::object: {
      py::dict out;
      for (const auto& [key, item] : value.items()) out[py::str(key)] = from_json(item);
      return out;
    }
    default: return py::none();
  }
}

namespace {

// The buffer's element type, from its struct-module format ("f", "<d", "=q").
at::ScalarType scalar_type_of(const py::buffer_info& info, const std::string& where) {
  std::string format = info.format;
  if (!format.empty() && (format[0] == '@' || format[0] == '=' || format[0] == '<')) format.erase(0, 1);
  if (format.size() == 1) {
    switch (format[0]) {
      case 'f': return at::kFloat;
      case 'd': return at::kDouble;
      case 'q':
      case 'l': if (info.itemsize == 8) return at::kLong; break;
      case 'i': if (info.itemsize == 4) return at::kInt; break;
      case '?': return at::kBool;
      default: break;
    }
  }
  throw py::type_error(fmt::format("{}: an array of {} (format '{}') is not supported: use float32 or float64 "
                                   "(labels and indices: int64)",
                                   where, info.itemsize, info.format));
}

}  // namespace

at::Tensor to_tensor(py::handle value, const std::string& where) {
  if (THPVariable_Check(value.ptr())) return THPVariable_Unpack(value.ptr());
  if (PyObject_CheckBuffer(value.ptr())) {
    // The view holds the exporter's buffer (and so the array) until the
    // tensor's memory is released; the release needs the GIL, which a
    // tensor freed in a C++ thread does not hold.
    auto info = std::make_unique<py::buffer_info>(py::reinterpret_borrow<py::buffer>(value).request());
    const at::ScalarType type = scalar_type_of(*info, where);
    std::vector<int64_t> sizes(info->shape.begin(), info->shape.end()), strides;
    for (const auto stride : info->strides) {
      if (stride % info->itemsize != 0)
        throw py::type_error(fmt::format("{}: a stride of {} bytes is not a whole number of {}-byte items: pass a "
                                         "contiguous copy (numpy.ascontiguousarray)",
                                         where, stride, info->itemsize));
      strides.push_back(stride / info->itemsize);
    }
    void* data = info->ptr;
    py::buffer_info* owner = info.release();
    at::Tensor viewed = at::from_blob(
        data, sizes, strides,
        [owner](void*) {
          py::gil_scoped_acquire gil;
          delete owner;
        },
        at::TensorOptions().dtype(type));
    return type == at::kInt ? viewed.to(at::kLong) : viewed;
  }
  throw py::type_error(fmt::format("{}: expected a torch.Tensor or a NumPy array, found {}", where,
                                   py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>()));
}

at::Tensor to_optional_tensor(py::handle value, const std::string& where) {
  return value.is_none() ? at::Tensor() : to_tensor(value, where);
}

}  // namespace bridges::python

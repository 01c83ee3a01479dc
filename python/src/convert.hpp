#pragma once
// Values between Python and bridges: JSON <-> Python objects, and tensors
// from torch.Tensor or any buffer (NumPy) without copying.
#include <torch/csrc/utils/pybind.h>

#include <nlohmann/json.hpp>
#include <string>

namespace bridges::python {

namespace py = pybind11;

/// dict, list, tuple, str, bool, int, float and None -> JSON; `where` names
/// the argument in a TypeError for anything else.
nlohmann::json to_json(py::handle value, const std::string& where);
py::object from_json(const nlohmann::json& value);

/// A torch.Tensor as it is (the same tensor: autograd sees through), or an
/// object with the buffer protocol (a NumPy array, memoryview, array.array)
/// viewed in place: its memory, its strides, kept alive while the tensor
/// lives. Floats (float32, float64), integers (int64, int32 widened by a
/// copy) and bool. Throws TypeError naming `where` otherwise.
at::Tensor to_tensor(py::handle value, const std::string& where);
/// The same, or an undefined tensor for None.
at::Tensor to_optional_tensor(py::handle value, const std::string& where);

}  // namespace bridges::python

// gradtape._core's fused optimizer step (gradtape/optim.h): the hyperparameters as a small
// object, and one call per parameter. The optimizers' API is Python (gradtape/optimizers/).
#include <pybind11/stl.h>

#include "convert.h"
#include "gradtape/optim.h"
#include "gradtape/steps.h"

namespace gt::py_bind {


void bind_optim(py::module_& m) {
  using optim::Algorithm;
  using optim::Hyper;
  py::enum_<Algorithm>(m, "_OptimAlgorithm")
      .value("SGD", Algorithm::SGD)
      .value("Adam", Algorithm::Adam)
      .value("RMSprop", Algorithm::RMSprop)
      .value("Adagrad", Algorithm::Adagrad)
      .value("Adadelta", Algorithm::Adadelta)
      .value("Adamax", Algorithm::Adamax)
      .value("Nadam", Algorithm::Nadam)
      .value("Lion", Algorithm::Lion);
  py::class_<Hyper>(m, "_OptimHyper")
      .def(py::init<>())
      .def_readwrite("learning_rate", &Hyper::learning_rate)
      .def_readwrite("beta_1", &Hyper::beta_1)
      .def_readwrite("beta_2", &Hyper::beta_2)
      .def_readwrite("epsilon", &Hyper::epsilon)
      .def_readwrite("rho", &Hyper::rho)
      .def_readwrite("momentum", &Hyper::momentum)
      .def_readwrite("nesterov", &Hyper::nesterov)
      .def_readwrite("amsgrad", &Hyper::amsgrad)
      .def_readwrite("centered", &Hyper::centered)
      .def_readwrite("iterations", &Hyper::iterations)
      .def_readwrite("u_product", &Hyper::u_product)
      .def_readwrite("weight_decay", &Hyper::weight_decay)
      .def_readwrite("clip_value", &Hyper::clip_value)
      .def_readwrite("grad_mul", &Hyper::grad_mul)
      .def_readwrite("grad_div", &Hyper::grad_div);
  m.def("_optim_apply", [](Algorithm alg, py::handle param, py::handle grad, py::list slots, const Hyper& h) {
    Variable& p = variable_ref(param);
    Tensor g = to_tensor(grad);
    std::vector<Variable*> s;
    for (py::handle x : slots) s.push_back(&variable_ref(x));
    if (g.numel() >= (1 << 15)) {
      without_gil([&] {
        optim::apply(alg, p, g, s, h);
        return Tensor();
      });
    } else {
      optim::apply(alg, p, g, s, h);
    }
  });
  // The same step as gt.function traces it: the learning rate is a tensor and the step counter
  // a variable, both read when the step runs (each replay), not when it is traced.
  m.def("_optim_apply_traced", [](Algorithm alg, py::handle param, py::handle grad, py::list slots, const Hyper& h,
                                  py::handle learning_rate, py::handle iterations) {
    std::vector<std::shared_ptr<Variable>> s;
    for (py::handle x : slots) s.push_back(variable_ref(x).shared_from_this());
    Tensor g = to_tensor(grad);
    Tensor lr = to_tensor(learning_rate);
    traced_effect("optimizer_step", &steps::optimizer_step, alg, variable_ref(param).shared_from_this(), g, s, h, lr,
                  variable_ref(iterations).shared_from_this());
  });
  // ... with the clipping factors and Nadam's running product as tensors too, computed by the
  // program's steps and read when this step runs.
  m.def("_optim_apply_traced_scaled", [](Algorithm alg, py::handle param, py::handle grad, py::list slots,
                                         const Hyper& h, py::handle learning_rate, py::handle iterations,
                                         py::handle grad_mul, py::handle grad_div, py::handle u_product) {
    std::vector<std::shared_ptr<Variable>> s;
    for (py::handle x : slots) s.push_back(variable_ref(x).shared_from_this());
    Tensor g = to_tensor(grad);
    Tensor lr = to_tensor(learning_rate);
    Tensor mul = to_tensor(grad_mul), div = to_tensor(grad_div), u = to_tensor(u_product);
    traced_effect("optimizer_step/scaled", &steps::optimizer_step_scaled, alg, variable_ref(param).shared_from_this(),
                  g, s, h, lr, variable_ref(iterations).shared_from_this(), mul, div, u);
  });
}
}  // namespace gt::py_bind

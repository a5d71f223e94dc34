#pragma once
// Variable: a named, mutable holder of a tensor value. Reading it inside an active tape lets
// the tape watch it (trainable variables are watched automatically unless the tape says
// otherwise). assign* write in place only when nothing else holds the current value (no
// recorded op, no NumPy view, no other tensor); otherwise they copy on write, so a value an op
// recorded is a snapshot that later assigns never change. Shape and dtype never change.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gradtape/tensor.h"

namespace gt {

class Variable : public std::enable_shared_from_this<Variable> {
 public:
  Variable(const Tensor& initial, bool trainable = true, std::string name = "Variable");
  Variable(const Variable&) = delete;
  Variable& operator=(const Variable&) = delete;

  // A variable that live() lists while it lives (Python's Variables and a loaded saved model's
  // are made so). A variable made by std::make_shared works the same but is not listed.
  static std::shared_ptr<Variable> make(const Tensor& initial, bool trainable = true, std::string name = "Variable");
  // The variables made by make() that are alive now, in the order they were made. gt.function
  // notes their values before a trace whose effects it undoes (get_concrete_function, a second
  // trace), without walking the Python heap for them.
  static std::vector<std::shared_ptr<Variable>> live();

  // The current value; tells the active tapes of this thread that it was read.
  Tensor read();
  // The current value, without telling any tape.
  const Tensor& value() const { return value_; }

  void assign(const Tensor& v);
  void assign_add(const Tensor& v);
  void assign_sub(const Tensor& v);

  // For fused updates (gradtape/optim.h): `out` is the buffer the caller fills with the new
  // value, computed from `old` (the current value). It is the current value's own buffer
  // when nothing else holds it (so old and out are one buffer: write element i only after
  // reading element i); otherwise a new buffer that already is the variable's value while
  // `old` keeps the previous one (copy on write). The caller must write every element.
  struct Write {
    Tensor old;
    Tensor out;
  };
  Write begin_write();

  uint64_t id() const { return id_; }
  bool trainable() const { return trainable_; }
  const std::string& name() const { return name_; }
  DType dtype() const { return value_.dtype(); }
  const Shape& shape() const { return value_.shape(); }

 private:
  enum class Mode { Set, Add, Sub };
  void update(const Tensor& v, Mode mode, const char* what);
  Tensor value_;
  bool trainable_;
  std::string name_;
  uint64_t id_;
};

}  // namespace gt

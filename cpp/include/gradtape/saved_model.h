#pragma once
// Saved models (docs/saved-model.md): a directory holding a module's traced functions as
// programs (gradtape/program.h) and its variables in the checkpoint format, written by
// gt.saved_model.save in Python and loaded here with no Python:
//
//   std::shared_ptr<gt::SavedModel> m = gt::load_saved_model("/path/to/export_dir");
//   std::vector<gt::Tensor> out = m->call("train_step", {x, y});
//
// Each call runs the function's program on the tensors (the same C++ ops eager code runs, so
// tapes record it); its variables are the model's own (m->variables()), shared by its functions.
// Corrupt, truncated or foreign files, and files of a newer format version, raise gt::DataLoss;
// a missing directory or file gt::NotFound; a call with tensors matching none of the
// function's traced signatures gt::InvalidArgument.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gradtape/program.h"

namespace gt {

// The version of the format this gradtape writes, and the newest it reads.
// 2: a concrete function may serve other sizes than its trace's (-1 dimensions in its inputs,
// "shape_guard" steps). A file is written as version 1 when it has none (docs/saved-model.md).
constexpr int kSavedModelVersion = 2;

// A traced input: its dtype and shape (a -1 dimension: any size, in an input signature).
struct InputSpec {
  DType dtype;
  std::vector<int64_t> shape;
};

// One traced program of a function (a concrete function): for these exact input dtypes and shapes.
struct SavedConcrete {
  std::vector<InputSpec> inputs;
  std::shared_ptr<Program> program;
  std::string meta;  // what Python needs besides the program (the result's structure): opaque here
};

struct SavedFunction {
  std::string name;
  std::string meta;  // opaque (Python: the input signature)
  std::vector<SavedConcrete> concretes;
  // The concrete function these inputs match (dtypes and shapes), or nullptr.
  const SavedConcrete* match(const std::vector<Tensor>& inputs) const;
  // Whether these inputs match concrete function c (dtypes and shapes, -1: any size).
  static bool matches(const SavedConcrete& c, const std::vector<Tensor>& inputs);
};

class SavedModel {
 public:
  const std::vector<SavedFunction>& functions() const { return functions_; }
  const SavedFunction& function(const std::string& name) const;  // InvalidArgument if none
  bool has_function(const std::string& name) const;
  // Runs function `name` on `inputs` (InvalidArgument if they match none of its traced signatures).
  std::vector<Tensor> call(const std::string& name, const std::vector<Tensor>& inputs) const;
  // The variables, in the order of the file, with their checkpoint keys.
  const std::vector<std::shared_ptr<Variable>>& variables() const { return variables_; }
  const std::vector<std::string>& variable_keys() const { return keys_; }
  std::shared_ptr<Variable> variable(const std::string& key) const;  // nullptr if none
  const std::string& meta() const { return meta_; }
  int version() const { return version_; }

 private:
  friend std::shared_ptr<SavedModel> load_saved_model(const std::string& dir);
  std::vector<SavedFunction> functions_;
  std::vector<std::shared_ptr<Variable>> variables_;
  std::vector<std::string> keys_;
  std::string meta_;
  int version_ = 0;
};

std::shared_ptr<SavedModel> load_saved_model(const std::string& dir);

// Writing a saved model's program file and constants (the Python side writes the variables'
// checkpoint, by the keys and members it chooses for variables()).
class SavedModelWriter {
 public:
  // A variable of the model (before the programs, so that the model's own come first).
  void add_variable(const std::shared_ptr<Variable>& v) { w_.variable(v); }
  void add_function(const std::string& name, const std::string& meta);
  // A concrete function of the function added last. ValueError_ naming the step if a step
  // cannot be saved (a Python host callback).
  // shape_polymorphic: the program serves other sizes than its trace's (the -1 dimensions of
  // `inputs`): its shape guard steps are saved too, and a run whose guard fails tries the
  // function's next concrete function whose inputs match.
  void add_concrete(const std::vector<InputSpec>& inputs, const Program& program, const std::string& meta,
                    bool shape_polymorphic = false);
  // Whether the gradient blocks of gt.custom_gradient calls are saved (StepWriter::custom_gradients).
  void set_custom_gradients(bool on) { w_.custom_gradients = on; }
  // Every variable the model has: those added, then those the programs use.
  const std::vector<std::shared_ptr<Variable>>& variables() const { return w_.variables; }
  // Writes dir/saved_model.txt and dir/constants.bin. keys[i], members[i]: variables()[i]'s
  // checkpoint key and its member in variables/variables.npz.
  void write(const std::string& dir, const std::vector<std::string>& keys, const std::vector<std::string>& members,
             const std::string& meta);

 private:
  StepWriter w_;  // the functions' text, and the tables (variables, constants, streams) they use
  bool shape_polymorphic_ = false;  // a concrete function serves other sizes (version 2)
};

}  // namespace gt

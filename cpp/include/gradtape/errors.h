#pragma once
// The core's exceptions. The Python bindings map InvalidArgument to
// gradtape.errors.InvalidArgumentError (a ValueError), ValueError_ to the plain ValueError,
// TypeError_ to TypeError, NotImplemented_ to NotImplementedError,
// ResourceExhausted (and std::bad_alloc) to gradtape.errors.ResourceExhaustedError (a
// MemoryError), LookupError_ to LookupError and TapeError to RuntimeError; nothing in the core aborts the process on bad
// input.
#include <stdexcept>
#include <string>

namespace gt {

// A bad shape, dtype, axis or value given to an op.
struct InvalidArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// A bad argument that TensorFlow refuses in Python, before any kernel runs (a value of an
// unsupported type for a tensor, a variable assigned a value of another shape, stack's axis):
// still an InvalidArgument to C++ code, but Python's plain ValueError, as TensorFlow raises
// there (docs/errors.md).
struct ValueError_ : InvalidArgument {
  using InvalidArgument::InvalidArgument;
};
// A value of the wrong kind altogether (e.g. a float where an integer tensor is needed).
struct TypeError_ : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// A case TensorFlow does not implement either (Python's NotImplementedError): the gradient of
// qr with full_matrices for more rows than columns.
struct NotImplemented_ : std::logic_error {
  using std::logic_error::logic_error;
};
// A tensor too large to allocate: its byte count overflows or exceeds kMaxTensorBytes, or the
// allocation failed (TensorFlow's ResourceExhaustedError, "OOM when allocating").
struct ResourceExhausted : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A saved model (gradtape/saved_model.h) that is truncated, corrupt, of a newer format
// version, or not a saved model at all (Python: gradtape.errors.DataLossError).
struct DataLoss : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A file that does not exist (Python: gradtape.errors.NotFoundError, also an OSError).
struct NotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An op with no gradient: a gt.custom_gradient call of a model saved with
// SaveOptions(experimental_custom_gradients=False), differentiated after loading (Python's
// LookupError, as TensorFlow's "No gradient defined for operation").
struct LookupError_ : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A misuse of a tape (second gradient on a non-persistent tape, ...).
struct TapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace gt

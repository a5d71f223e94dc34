#pragma once
#include <cstdint>
// Internals shared by tape.cpp and variable.cpp.
namespace gt {
class Variable;
class Tensor;
namespace detail {
// Tells this thread's recording tapes and access logs that `v` was read.
void notify_variable_read(Variable& v);
// Whether the tape with this serial still exists (stale tape links are pruned with it).
bool tape_alive(uint64_t serial);
// Tells the recording tapes that t went through stop_gradient.
void note_stop_gradient(const Tensor& t);
}  // namespace detail
}  // namespace gt

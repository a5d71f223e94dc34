#pragma once
// Internals shared by tape.cpp and variable.cpp.
namespace gt {
class Variable;
namespace detail {
// Tells this thread's recording tapes and access logs that `v` was read.
void notify_variable_read(Variable& v);
}  // namespace detail
}  // namespace gt

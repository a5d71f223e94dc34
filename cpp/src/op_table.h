#pragma once
#include <cstdint>
// The primitive ops, derived from the op manifest (gradtape/ops.def): one OpId per GT_OP row,
// its name, and how a structural-zero mask crosses its rule (MaskRule, explained in ops.def).
// The differentiable ones (every mask but NoGrad) have a rule `void vjp_<Enum>(VjpCtx&)`
// written beside their forward in ops_<family>.cpp, and those whose Jvp column is Rule a
// `Tensor jvp_<Enum>(JvpCtx&)` beside it; op_table.cpp builds the dispatch tables.
// Composite ops (reduce_mean, stack, squeeze, clip_by_value, the cross-entropies, ...) are
// GT_FN rows: written with the primitives, they need no OpId.

namespace gt {

enum class OpId : uint16_t {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) E,
#include "gradtape/ops.def"
  Custom,  // a custom_gradient call: its rule is a hook stored on the tape
  Count
};

const char* op_name(OpId op);

// How a structural-zero mask crosses each op's rule (see ops.def). NoGrad ops have no rule
// and are never recorded: their mask rule reads as None.
enum class MaskRule : uint8_t { None, Pass, Self, Select, Sum };
MaskRule mask_rule(OpId op);

// Each op's forward-mode rule (the Jvp column of ops.def): Sym derives it from the vjp, Rule
// has its own jvp_<Enum> beside the vjp (jvp_rule), None (NoGrad ops) has none.
enum class JvpKind : uint8_t { None, Sym, Rule };
JvpKind jvp_kind(OpId op);

}  // namespace gt

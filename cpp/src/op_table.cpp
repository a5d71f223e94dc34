// The vjp dispatch table and op names, generated from op_table.h.
#include "op_table.h"

#include "gradtape/ops.h"
#include "record.h"

namespace gt {

#define GT_DECLARE_VJP(E, name, mask) void vjp_##E(VjpCtx&);
GT_DIFFERENTIABLE_OPS(GT_DECLARE_VJP)
#undef GT_DECLARE_VJP

namespace {
const VjpFn kVjp[] = {
#define GT_VJP_ROW(E, name, mask) &vjp_##E,
    GT_DIFFERENTIABLE_OPS(GT_VJP_ROW)
#undef GT_VJP_ROW
#define GT_NO_VJP_ROW(E, name) nullptr,
    GT_NONDIFFERENTIABLE_OPS(GT_NO_VJP_ROW)
#undef GT_NO_VJP_ROW
    nullptr,  // Custom
};
const char* const kNames[] = {
#define GT_NAME_ROW(E, name) name,
#define GT_NAME_ROW3(E, name, mask) name,
    GT_DIFFERENTIABLE_OPS(GT_NAME_ROW3) GT_NONDIFFERENTIABLE_OPS(GT_NAME_ROW)
#undef GT_NAME_ROW
#undef GT_NAME_ROW3
    "custom_gradient",
};
const MaskRule kMask[] = {
#define GT_MASK_ROW(E, name, mask) MaskRule::mask,
#define GT_NO_MASK_ROW(E, name) MaskRule::None,
    GT_DIFFERENTIABLE_OPS(GT_MASK_ROW) GT_NONDIFFERENTIABLE_OPS(GT_NO_MASK_ROW)
#undef GT_MASK_ROW
#undef GT_NO_MASK_ROW
    MaskRule::None,
};
static_assert(sizeof(kVjp) / sizeof(kVjp[0]) == size_t(OpId::Count), "op table out of sync");
}  // namespace

VjpFn vjp_for(OpId op) { return kVjp[size_t(op)]; }
const char* op_name(OpId op) { return kNames[size_t(op)]; }
MaskRule mask_rule(OpId op) { return kMask[size_t(op)]; }

std::vector<OpInfo> op_table() {
  std::vector<OpInfo> t;
  for (size_t i = 0; i < size_t(OpId::Custom); ++i) t.push_back(OpInfo{kNames[i], kVjp[i] != nullptr});
  return t;
}

}  // namespace gt

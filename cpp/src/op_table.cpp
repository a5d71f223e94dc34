// The vjp and jvp dispatch tables, op names, mask rules and jvp kinds, derived from the op manifest (ops.def).
#include "op_table.h"

#include "gradtape/ops.h"
#include "record.h"

namespace gt {

// A row's rule: vjp_<Enum> for a differentiable op, none for a NoGrad one.
#define GT_VJP_DECL_Pass(E) void vjp_##E(VjpCtx&);
#define GT_VJP_DECL_Self(E) void vjp_##E(VjpCtx&);
#define GT_VJP_DECL_Select(E) void vjp_##E(VjpCtx&);
#define GT_VJP_DECL_Sum(E) void vjp_##E(VjpCtx&);
#define GT_VJP_DECL_None(E) void vjp_##E(VjpCtx&);
#define GT_VJP_DECL_NoGrad(E)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_VJP_DECL_##mask(E)
#include "gradtape/ops.def"

// A row's forward-mode rule: jvp_<Enum> when its Jvp column is Rule.
#define GT_JVP_DECL_Rule(E) Tensor jvp_##E(JvpCtx&);
#define GT_JVP_DECL_Sym(E)
#define GT_JVP_DECL_NoGrad(E)
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_JVP_DECL_##jvp(E)
#include "gradtape/ops.def"

namespace {
#define GT_VJP_PTR_Pass(E) &vjp_##E
#define GT_VJP_PTR_Self(E) &vjp_##E
#define GT_VJP_PTR_Select(E) &vjp_##E
#define GT_VJP_PTR_Sum(E) &vjp_##E
#define GT_VJP_PTR_None(E) &vjp_##E
#define GT_VJP_PTR_NoGrad(E) nullptr
const VjpFn kVjp[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_VJP_PTR_##mask(E),
#include "gradtape/ops.def"
    nullptr,  // Custom
};
#define GT_JVP_PTR_Rule(E) &jvp_##E
#define GT_JVP_PTR_Sym(E) nullptr
#define GT_JVP_PTR_NoGrad(E) nullptr
const JvpFn kJvp[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_JVP_PTR_##jvp(E),
#include "gradtape/ops.def"
    nullptr,  // Custom
};
#define GT_JVP_KIND_Rule JvpKind::Rule
#define GT_JVP_KIND_Sym JvpKind::Sym
#define GT_JVP_KIND_NoGrad JvpKind::None
const JvpKind kJvpKind[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_JVP_KIND_##jvp,
#include "gradtape/ops.def"
    JvpKind::None,
};
const char* const kNames[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) #fn,
#include "gradtape/ops.def"
    "custom_gradient",
};
#define GT_MASK_Pass MaskRule::Pass
#define GT_MASK_Self MaskRule::Self
#define GT_MASK_Select MaskRule::Select
#define GT_MASK_Sum MaskRule::Sum
#define GT_MASK_None MaskRule::None
#define GT_MASK_NoGrad MaskRule::None
const MaskRule kMask[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) GT_MASK_##mask,
#include "gradtape/ops.def"
    MaskRule::None,
};
static_assert(sizeof(kVjp) / sizeof(kVjp[0]) == size_t(OpId::Count), "op table out of sync");
static_assert(sizeof(kJvp) / sizeof(kJvp[0]) == size_t(OpId::Count), "op table out of sync");
static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(OpId::Count), "op table out of sync");

// Every public row of the manifest, for gradtape._core.manifest().
const ManifestRow kRows[] = {
#define GT_OP(E, fn, kind, mask, jvp, ns, sig, doc) {#fn, #kind, ns, sig, doc, #E, #mask, #jvp},
#define GT_FN(fn, kind, ns, sig, doc) {#fn, #kind, ns, sig, doc, "", "", ""},
#include "gradtape/ops.def"
};
}  // namespace

VjpFn vjp_for(OpId op) { return kVjp[size_t(op)]; }
const char* op_name(OpId op) { return kNames[size_t(op)]; }
MaskRule mask_rule(OpId op) { return kMask[size_t(op)]; }
JvpFn jvp_rule(OpId op) { return kJvp[size_t(op)]; }
JvpKind jvp_kind(OpId op) { return kJvpKind[size_t(op)]; }

std::vector<OpInfo> op_table() {
  std::vector<OpInfo> t;
  for (size_t i = 0; i < size_t(OpId::Custom); ++i) t.push_back(OpInfo{kNames[i], kVjp[i] != nullptr});
  return t;
}

std::vector<ManifestRow> manifest() { return {std::begin(kRows), std::end(kRows)}; }

}  // namespace gt

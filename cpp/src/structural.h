#pragma once
// Structural zeros (docs/structural-zeros.md): the positions of a gradient that a where, a
// slice or a gather did not select. They travel with the gradient as a bool mask on its
// TensorImpl (zero_mask) and are enforced as exact zeros after each rule, so an inf or NaN
// local derivative of an unselected branch never poisons the gradient. Ordinary zeros (from
// arithmetic) carry no mask and stay IEEE. The reverse sweep calls these three functions;
// with no mask in play they cost a pointer test.
#include <cstdint>
#include <vector>

#include "record.h"

namespace gt {

bool structural_zeros_enabled();

// After a rule ran: the input gradients' masks (from the upstream mask and the op's
// MaskRule), enforced as exact zeros with a where() that outer tapes record.
void apply_structural_zeros(OpId op, const std::vector<Tensor>& ins, const Tensor& out, const Tensor& g,
                            const std::vector<int64_t>& attrs, const std::vector<char>& needs,
                            std::vector<Tensor>& gin, int batch = 0);
// sum_to_shape that also reduces the mask: a position is structural when all that was summed
// into it was.
Tensor sum_to_shape_masked(const Tensor& g, const Shape& shape, int batch_dims = 0);
// acc + g, where a position stays structural only when it is structural in both.
Tensor accumulate_masked(const Tensor& acc, const Tensor& g);
// The max pool's unpicked positions, from its saved indices (ops_conv.cpp, beside the op): what
// its rule run on ones would leave at zero, without running it.
Tensor max_pool_unpicked(const Tensor& x, const Tensor& idx);

}  // namespace gt

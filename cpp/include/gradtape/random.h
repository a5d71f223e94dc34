#pragma once
// Random numbers: a counter-based generator, Philox4x32-10 (Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11), the one TensorFlow uses.
//
// A stream is a 64-bit key and a 128-bit counter (PhiloxState). One Philox block turns one
// counter value into four independent 32-bit words. Every draw reads blocks starting at the
// state's counter and then advances the counter past all the blocks it used, so two draws
// never share a block. Which block feeds which element depends only on the element's index,
// never on how the work is split over threads: a draw's elements are computed in fixed
// chunks of kChunk elements (the same code path for every chunk), and the pool runs whole
// chunks. So the values for a given state are the same on 1 or 2 threads, and across runs.
//
// Layout of a draw of n elements that need w words each (w = 1 for float32 and int32, 2 for
// float64 and int64): chunk c (elements [c*kChunk, (c+1)*kChunk)) reads blocks
// counter + c*kChunk*w/4 ... and the draw advances the counter by ceil(n*w/4).
// Samplers with rejection (truncated normal, gamma, Poisson, categorical, shuffle) give each
// element its own block (counter + i) and, when they need more words, further blocks that
// differ in the counter's top 32 bits (the "attempt"); such a draw advances the counter by n.
//
// Normals use the Box-Muller transform (two uniforms give two normals, with log, sin and cos
// from the vector math library): simple, branch-free and so vectorisable, which the
// ziggurat is not. Values are not TensorFlow's bit patterns (docs/choices.md).
#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "gradtape/tensor.h"

namespace gt::random {

struct PhiloxState {
  uint64_t key = 0;
  uint64_t counter_lo = 0;  // block index (the part a draw advances)
  uint64_t counter_hi = 0;  // a stream selector: only its low 32 bits are used
};

constexpr int64_t kChunk = 256;

// A stream that objects share (a gt.random stream or generator's state, a loaded program's
// stream), made by make_stream so that live_streams() lists it while it lives. gt.function
// notes their states before a trace whose effects it undoes, without walking the Python heap.
std::shared_ptr<PhiloxState> make_stream(const PhiloxState& state);
// The streams made by make_stream that are still alive, in the order made.
std::vector<std::shared_ptr<PhiloxState>> live_streams();
// How many streams make_stream has made: a mark for streams_made_since.
uint64_t streams_made();
// The streams made since `mark` that are still alive, each with the state it was made with (a
// trace whose effects are undone resets the streams it made: they start afresh at the call).
std::vector<std::pair<std::shared_ptr<PhiloxState>, PhiloxState>> streams_made_since(uint64_t mark);

// The Philox4x32-10 block function (exposed for known-answer tests).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// SplitMix64's finaliser: a bijective 64-bit mixer, for turning seeds into keys.
uint64_t mix64(uint64_t x);

// uniform [0, 1) scaled to [minval, maxval): minval + (maxval - minval) * u (float dtypes).
Tensor uniform(PhiloxState& s, const Shape& shape, DType dtype, double minval = 0.0, double maxval = 1.0);
// integers uniform in [minval, maxval) (int32, int64); requires minval < maxval. The
// multiply-shift reduction is very slightly biased for huge ranges, as TensorFlow's is.
Tensor uniform_int(PhiloxState& s, const Shape& shape, DType dtype, int64_t minval, int64_t maxval);
// every bit pattern of the integer dtype equally likely (int32, int64).
Tensor uniform_full_int(PhiloxState& s, const Shape& shape, DType dtype);
// mean + stddev * N(0, 1) (float dtypes).
Tensor normal(PhiloxState& s, const Shape& shape, DType dtype, double mean = 0.0, double stddev = 1.0);
// N(0, 1) conditioned on |z| <= 2, scaled: mean + stddev * z (float dtypes).
Tensor truncated_normal(PhiloxState& s, const Shape& shape, DType dtype, double mean = 0.0, double stddev = 1.0);
// value with its first dimension permuted uniformly (Fisher-Yates).
Tensor shuffle(PhiloxState& s, const Tensor& value);
// For each row of logits [batch, classes], num_samples class indices drawn with probabilities
// softmax(row); dtype int32 or int64.
Tensor categorical(PhiloxState& s, const Tensor& logits, int64_t num_samples, DType dtype);
// Gamma(alpha, rate beta) draws of shape `shape` + alpha's shape (alpha and beta already
// broadcast to one shape and of dtype `dtype`, a float dtype). Marsaglia and Tsang's method.
Tensor gamma(PhiloxState& s, const Shape& shape, const Tensor& alpha, const Tensor& beta);
// Poisson(lam) draws of shape `shape` + lam's shape, as `dtype` (float or int). Multiplication
// of uniforms for lam < 10, Hormann's transformed rejection (PTRS) above.
Tensor poisson(PhiloxState& s, const Shape& shape, const Tensor& lam, DType dtype);

}  // namespace gt::random

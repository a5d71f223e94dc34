// The scalar tape behind gt::Real (see gradtape/real.h): recording is inline in the header;
// here are the tape's life cycle, the reverse sweep and the error paths.
#include "gradtape/real.h"

#include <atomic>
#include <string>

namespace gt {

namespace detail {
thread_local constinit RealTape* tls_real_tape = nullptr;
}

namespace {
// Epochs tell a tape's Reals from any other's: every tape, and every clear(), takes a new one.
std::atomic<uint32_t> g_next_epoch{1};
uint32_t new_epoch() {
  uint32_t e = g_next_epoch.fetch_add(1, std::memory_order_relaxed);
  if (e == 0) e = g_next_epoch.fetch_add(1, std::memory_order_relaxed);  // 0 marks constants
  return e;
}
}  // namespace

RealTape::RealTape() : epoch_(new_epoch()) {
  if (detail::tls_real_tape)
    throw TapeError("RealTape: another RealTape is already recording on this thread; one at a time "
                    "(finish or destroy the first, or use gt::Tape with tensors for nested tapes)");
  ends_.push_back(0);  // index 0: constants
  detail::tls_real_tape = this;
}

RealTape::~RealTape() {
  if (detail::tls_real_tape == this) detail::tls_real_tape = nullptr;
}

Real RealTape::variable(double v) { return finish(v); }

void RealTape::clear() {
  ends_.resize(1);
  operands_.clear();
  partials_.clear();
  epoch_ = new_epoch();
}

size_t RealTape::bytes() const {
  return ends_.capacity() * sizeof(uint32_t) + operands_.capacity() * sizeof(uint32_t) +
         partials_.capacity() * sizeof(double) + adjoints_.capacity() * sizeof(double);
}

std::vector<double> RealTape::gradient(const Real& target, const std::vector<Real>& sources) {
  if (target.active()) check(target);
  for (const Real& s : sources)
    if (s.active()) check(s);
  std::vector<double> out(sources.size(), 0.0);
  if (!target.active()) return out;
  adjoints_.assign(size_t(target.id_) + 1, 0.0);
  adjoints_[target.id_] = 1.0;
  const uint32_t* ends = ends_.data();
  const uint32_t* ops = operands_.data();
  const double* partials = partials_.data();
  double* adj = adjoints_.data();
  // Statements after the target cannot reach it; a zero adjoint sends nothing (so an unused
  // branch's infinite partial never turns into NaN).
  for (uint32_t k = target.id_; k > 0; --k) {
    const double a = adj[k];
    if (a == 0) continue;
    for (uint32_t j = ends[k - 1]; j < ends[k]; ++j) adj[ops[j]] += partials[j] * a;
  }
  for (size_t i = 0; i < sources.size(); ++i)
    if (sources[i].active() && sources[i].id_ <= target.id_) out[i] = adj[sources[i].id_];
  return out;
}

void RealTape::stale(const Real& r) const {
  throw TapeError("gt::Real: this value was recorded on another RealTape, or before clear() (its tape epoch " +
                  std::to_string(r.epoch_) + ", this tape's " + std::to_string(epoch_) +
                  "); compute it again on this tape");
}

void RealTape::too_long() const {
  throw TapeError("RealTape: more than 4 billion statements; clear() the tape or split the computation");
}

}  // namespace gt

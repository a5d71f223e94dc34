// The scalar tape behind gt::Real (see gradtape/real.h): recording is inline in the header;
// here are the tape's life cycle, the reverse sweep and the error paths.
#include "gradtape/real.h"

#include <algorithm>
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

RealTape::RealTape() : epoch_(new_epoch()), owner_(&detail::tls_real_tape) {
  if (detail::tls_real_tape)
    throw TapeError("RealTape: another RealTape is already recording on this thread; one at a time "
                    "(finish or destroy the first, or use gt::Tape with tensors for nested tapes)");
  grow(0);
  ends_[0] = 0;  // index 0: constants
  n_stmts_ = 1;
  detail::tls_real_tape = this;
}

RealTape::~RealTape() {
  if (*owner_ == this) *owner_ = nullptr;  // the creating thread's pointer, wherever this runs
}

Real RealTape::variable(double v) {
  if (n_stmts_ >= stmt_cap_) grow(0);
  return finish(v);
}

void RealTape::grow(size_t k) {
  if (n_stmts_ >= kMaxStatements) too_long();
  std::unique_ptr<uint32_t[]> ends, ops;
  std::unique_ptr<double[]> partials;
  size_t stmt_cap = stmt_cap_, op_cap = op_cap_;
  if (n_stmts_ + 1 > stmt_cap_) {
    stmt_cap = std::min<size_t>(std::max<size_t>(1024, 2 * stmt_cap_), kMaxStatements + 1);
    ends.reset(new uint32_t[stmt_cap]);
  }
  if (n_ops_ + k > op_cap_) {
    op_cap = std::max<size_t>({1024, 2 * op_cap_, n_ops_ + k});
    ops.reset(new uint32_t[op_cap]);
    partials.reset(new double[op_cap]);
  }
  // Everything is allocated: nothing below throws.
  if (ends) {
    std::copy(ends_.get(), ends_.get() + n_stmts_, ends.get());
    ends_ = std::move(ends);
    stmt_cap_ = stmt_cap;
  }
  if (ops) {
    std::copy(operands_.get(), operands_.get() + n_ops_, ops.get());
    std::copy(partials_.get(), partials_.get() + n_ops_, partials.get());
    operands_ = std::move(ops);
    partials_ = std::move(partials);
    op_cap_ = op_cap;
  }
}

void RealTape::clear() {
  n_stmts_ = 1;
  n_ops_ = 0;
  epoch_ = new_epoch();
}

size_t RealTape::bytes() const {
  return stmt_cap_ * sizeof(uint32_t) + op_cap_ * (sizeof(uint32_t) + sizeof(double)) +
         adjoints_.capacity() * sizeof(double);
}

std::vector<double> RealTape::gradient(const Real& target, const std::vector<Real>& sources) {
  if (target.active()) check(target);
  for (const Real& s : sources)
    if (s.active()) check(s);
  std::vector<double> out(sources.size(), 0.0);
  if (!target.active()) return out;
  adjoints_.assign(size_t(target.id_) + 1, 0.0);
  adjoints_[target.id_] = 1.0;
  const uint32_t* ends = ends_.get();
  const uint32_t* ops = operands_.get();
  const double* partials = partials_.get();
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

// Shapes, storages and tensors.
#include "gradtape/tensor.h"

#include <cstring>
#include <limits>
#include <new>
#include <sstream>

#include <algorithm>
#include <thread>

#include "allocator.h"
#include "fusion.h"  // the complete Pending type, for ~TensorImpl
#include "record.h"  // GT_TLS
#include "scalar_code.h"
#include "tape_internal.h"
#include "gradtape/errors.h"

namespace gt {

namespace {
std::atomic<int64_t> g_live_tensors{0};
std::atomic<int64_t> g_live_storages{0};
constexpr size_t kHeader = 64;  // the Storage object sits in front of its data
static_assert(sizeof(Storage) <= kHeader, "Storage header must fit in 64 bytes");
}  // namespace

const char* dtype_name(DType d) {
  switch (d) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::UInt8: return "uint8";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

void throw_no_kernel(DType d) {
  if (is_half(d))
    throw InvalidArgument(std::string("no kernel for dtype ") + dtype_name(d) +
                          " here: float16 and bfloat16 ops run through gt::call_op, which computes in float32");
  throw InvalidArgument(std::string("this op has no kernel for dtype ") + dtype_name(d));
}

// ---- Shape ----

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(dims.begin(), int(dims.size())) {}
Shape::Shape(const std::vector<int64_t>& dims) : Shape(dims.data(), int(dims.size())) {}
Shape::Shape(const int64_t* dims, int rank) {
  if (rank > kMaxRank)
    throw InvalidArgument("rank " + std::to_string(rank) + " exceeds the maximum rank " +
                          std::to_string(kMaxRank));
  rank_ = rank;
  for (int i = 0; i < rank; ++i) dims_[i] = dims[i];
}

void Shape::push_back(int64_t d) {
  if (rank_ >= kMaxRank)
    throw InvalidArgument("rank " + std::to_string(rank_ + 1) + " exceeds the maximum rank " +
                          std::to_string(kMaxRank));
  dims_[rank_++] = d;
}

int64_t Shape::numel() const {
  // Saturates instead of wrapping: a shape too large for int64 never becomes a tensor
  // (checked_numel refuses it), and a saturated count compares as "too many" on the way there.
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    if (__builtin_mul_overflow(n, dims_[i], &n)) return std::numeric_limits<int64_t>::max();
  return n;
}

int64_t checked_numel(const Shape& s, size_t itemsize, const char* what) {
  int64_t n = 1;
  bool zero = false;
  for (int i = 0; i < s.rank(); ++i) {
    if (s[i] < 0) throw InvalidArgument(std::string(what) + ": negative dimension " + std::to_string(s[i]) + " in shape " + s.str());
    zero |= s[i] == 0;
  }
  // The dims' product (the non-zero dims', for an empty tensor, as NumPy counts) and its bytes
  // must fit int64, so that no stride or byte offset computed from them can wrap.
  int64_t bytes = 0;
  for (int i = 0; i < s.rank(); ++i)
    if (s[i] != 0 && __builtin_mul_overflow(n, s[i], &n))
      throw InvalidArgument(std::string(what) + ": shape " + s.str() + " has more elements than int64 can count");
  if (zero) {
    if (__builtin_mul_overflow(n, int64_t(itemsize), &bytes))
      throw InvalidArgument(std::string(what) + ": shape " + s.str() + " is too large, even empty");
    return 0;
  }
  if (__builtin_mul_overflow(n, int64_t(itemsize), &bytes) || bytes > kMaxTensorBytes)
    throw ResourceExhausted("OOM when allocating " + std::string(what) + " with shape " + s.str() + " (" +
                            std::to_string(n) + " elements of " + std::to_string(itemsize) +
                            " bytes: more than the limit of " + std::to_string(kMaxTensorBytes) + " bytes)");
  return n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) os << ", ";
    os << dims_[i];
  }
  if (rank_ == 1) os << ",";
  os << ")";
  return os.str();
}

void contiguous_strides(const Shape& s, int64_t* strides) {
  int64_t st = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    strides[i] = st;
    st *= s[i];
  }
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  int r = std::max(a.rank(), b.rank());
  int64_t dims[kMaxRank];
  for (int i = 0; i < r; ++i) {
    int ia = a.rank() - r + i, ib = b.rank() - r + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1) dims[i] = da;
    else if (da == 1) dims[i] = db;
    else
      throw InvalidArgument(std::string(op) + ": shapes " + a.str() + " and " + b.str() +
                            " are incompatible for broadcasting");
  }
  return Shape(dims, r);
}

int normalize_axis(int64_t axis, int rank, const char* op) {
  if (axis < -rank || axis >= rank)
    throw InvalidArgument(std::string(op) + ": axis " + std::to_string(axis) +
                          " is out of range for a tensor of rank " + std::to_string(rank));
  return int(axis < 0 ? axis + rank : axis);
}

// ---- Storage ----

Storage* Storage::allocate(size_t nbytes) {
  if (nbytes > size_t(kMaxTensorBytes))
    throw ResourceExhausted("OOM when allocating " + std::to_string(nbytes) + " bytes: over the limit of " +
                            std::to_string(kMaxTensorBytes) + " bytes");
  size_t capacity = 0;
  void* block = nullptr;
  try {
    block = alloc::allocate(kHeader + nbytes, &capacity);
  } catch (const std::bad_alloc&) {
    throw ResourceExhausted("OOM when allocating " + std::to_string(nbytes) + " bytes: the system has no memory for it");
  }
  Storage* s = new (block) Storage();
  s->nbytes_ = nbytes;
  s->capacity_ = capacity;
  s->data_ = static_cast<char*>(block) + kHeader;
  g_live_storages.fetch_add(1, std::memory_order_relaxed);
  return s;
}

void Storage::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    size_t cap = capacity_;
    this->~Storage();
    alloc::deallocate(this, cap);
    g_live_storages.fetch_sub(1, std::memory_order_relaxed);
  }
}

// ---- TensorImpl ----

namespace {
// Creation numbers count per thread (they are compared only with a tape of the same thread).
std::atomic<uint32_t> g_next_thread{1};
struct ThreadIds {
  uint32_t number = 0;
  uint64_t next_seq = 1;
};
thread_local ThreadIds tls_ids GT_TLS;
}  // namespace

uint64_t next_tensor_seq() { return tls_ids.next_seq; }

uint32_t this_thread_number() {
  if (tls_ids.number == 0) tls_ids.number = g_next_thread.fetch_add(1);
  return tls_ids.number;
}

TensorImpl::TensorImpl(DType d, const Shape& s, StoragePtr st)
    : TensorImpl(d, s, std::move(st), checked_numel(s, dtype_size(d))) {}
TensorImpl::TensorImpl(DType d, const Shape& s, StoragePtr st, int64_t n)
    : dtype(d), shape(s), numel(n), storage(std::move(st)),
      seq(tls_ids.next_seq++), thread(this_thread_number()) {
  g_live_tensors.fetch_add(1, std::memory_order_relaxed);
}
TensorImpl::~TensorImpl() { g_live_tensors.fetch_sub(1, std::memory_order_relaxed); }

// ---- TapeLinks ----

namespace {
inline void spin_pause(int& spins) {
#if defined(__x86_64__) || defined(__i386__)
  if (++spins < 64) { __builtin_ia32_pause(); return; }
#else
  ++spins;
#endif
  std::this_thread::yield();  // the writer may have been descheduled: give it the core
}
}  // namespace

TapeLinks::~TapeLinks() { delete more_; }

uint32_t TapeLinks::lock() const {
  int spins = 0;
  for (;;) {
    uint32_t s = seq_.load(std::memory_order_relaxed);
    if (!(s & 1) && seq_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed))
      return s + 1;
    spin_pause(spins);
  }
}

void TapeLinks::unlock(uint32_t s) const { seq_.store(s + 1, std::memory_order_release); }

bool TapeLinks::find_more_locked(uint64_t tape, uint32_t* slot) const {
  if (more_)
    for (const TapeLink& l : *more_)
      if (l.tape == tape) { *slot = l.slot; return true; }
  return false;
}

bool TapeLinks::find(uint64_t tape, uint32_t* slot) const {
  int spins = 0;
  for (;;) {
    const uint32_t s1 = seq_.load(std::memory_order_acquire);
    if (s1 & 1) { spin_pause(spins); continue; }
    // Acquire loads (plain loads on x86): the second read of seq_ cannot move before them, so
    // if it is unchanged no writer touched what they read.
    const int n = n_.load(std::memory_order_acquire);
    int hit = -1;
    uint32_t found = 0;
    for (int i = 0; i < n && i < 2; ++i)
      if (tape_[i].load(std::memory_order_acquire) == tape) {
        hit = i;
        found = slot_[i].load(std::memory_order_acquire);
        break;
      }
    const bool more = hit < 0 && has_more_.load(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) != s1) { spin_pause(spins); continue; }
    if (hit >= 0) { *slot = found; return true; }
    if (!more) return false;
    // Not inline but an overflow list exists: search everything under the lock (rare).
    const uint32_t held = lock();
    bool ok = false;
    for (int i = 0; i < n_.load(std::memory_order_relaxed) && !ok; ++i)
      if (tape_[i].load(std::memory_order_relaxed) == tape) {
        *slot = slot_[i].load(std::memory_order_relaxed);
        ok = true;
      }
    if (!ok) ok = find_more_locked(tape, slot);
    unlock(held);
    return ok;
  }
}

bool TapeLinks::empty() const {
  return n_.load(std::memory_order_acquire) == 0 && !has_more_.load(std::memory_order_acquire);
}

void TapeLinks::add(uint64_t tape, uint32_t slot) {
  uint32_t held = lock();
  if (n_.load(std::memory_order_relaxed) == 2) {
    // Full: drop links to tapes that are gone (a long-lived tensor such as a variable's value
    // is linked by every tape that reads it), then append. Whether a tape is alive is asked
    // outside the lock (it takes the tapes' mutex); a serial that is gone never comes back,
    // so the answer stays true after the lock is taken again.
    std::vector<uint64_t> linked;
    for (int i = 0; i < 2; ++i) linked.push_back(tape_[i].load(std::memory_order_relaxed));
    if (more_)
      for (const TapeLink& l : *more_) linked.push_back(l.tape);
    unlock(held);
    std::vector<uint64_t> dead;
    for (uint64_t t : linked)
      if (!detail::tape_alive(t)) dead.push_back(t);
    auto is_dead = [&](uint64_t t) { return std::find(dead.begin(), dead.end(), t) != dead.end(); };
    held = lock();
    if (!dead.empty()) {
      std::vector<TapeLink> kept;
      for (int i = 0; i < n_.load(std::memory_order_relaxed); ++i) {
        uint64_t t = tape_[i].load(std::memory_order_relaxed);
        if (!is_dead(t)) kept.push_back(TapeLink{t, slot_[i].load(std::memory_order_relaxed)});
      }
      if (more_)
        for (const TapeLink& l : *more_)
          if (!is_dead(l.tape)) kept.push_back(l);
      // Rewrite: the first two inline, the rest in the overflow list.
      const size_t n_inline = std::min<size_t>(kept.size(), 2);
      for (size_t i = 0; i < n_inline; ++i) {
        tape_[i].store(kept[i].tape, std::memory_order_release);
        slot_[i].store(kept[i].slot, std::memory_order_release);
      }
      n_.store(uint8_t(n_inline), std::memory_order_release);
      if (more_) more_->assign(kept.begin() + long(n_inline), kept.end());
      has_more_.store(more_ && !more_->empty(), std::memory_order_release);
    }
  }
  const uint8_t n = n_.load(std::memory_order_relaxed);
  if (n < 2) {
    tape_[n].store(tape, std::memory_order_release);
    slot_[n].store(slot, std::memory_order_release);
    n_.store(uint8_t(n + 1), std::memory_order_release);
  } else {
    if (!more_) more_ = new std::vector<TapeLink>();
    more_->push_back(TapeLink{tape, slot});
    has_more_.store(true, std::memory_order_release);
  }
  unlock(held);
}

// ---- Tensor ----

Tensor Tensor::empty(DType dtype, const Shape& shape) {
  // Every dim and the byte count are checked before any allocation.
  const int64_t n = checked_numel(shape, dtype_size(dtype));
  StoragePtr st(Storage::allocate(size_t(n) * dtype_size(dtype)));
  return Tensor(std::allocate_shared<TensorImpl>(alloc::SmallAllocator<TensorImpl>(), dtype, shape, std::move(st), n));
}

Tensor Tensor::view_as(const Shape& s) const {
  raw();  // a deferred tensor is computed first: views share its storage
  return Tensor(std::allocate_shared<TensorImpl>(alloc::SmallAllocator<TensorImpl>(), dtype(), s, impl_->storage));
}

Tensor Tensor::clone() const {
  Tensor t = empty(dtype(), shape());
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

double Tensor::item() const {
  if (numel() != 1)
    throw InvalidArgument("item(): tensor of shape " + shape().str() + " has " +
                          std::to_string(numel()) + " elements, not 1");
  scalar_code::note_item(*this);  // (C++ code that branches on a value: scalar_code.h)
  if (dtype() == DType::Float16) return half_to_float(data<uint16_t>()[0]);
  if (dtype() == DType::BFloat16) return bfloat16_to_float(data<uint16_t>()[0]);
  return dispatch_all(dtype(), [&](auto tag) { return double(data<decltype(tag)>()[0]); });
}

int64_t live_tensors() { return g_live_tensors.load(); }
int64_t live_storages() { return g_live_storages.load(); }

}  // namespace gt

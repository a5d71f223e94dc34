// Shapes, storages and tensors.
#include "gradtape/tensor.h"

#include <cstring>
#include <limits>
#include <new>
#include <sstream>

#include <algorithm>

#include "allocator.h"
#include "fusion.h"  // the complete Pending type, for ~TensorImpl
#include "record.h"  // GT_TLS
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
  }
  return "?";
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
    : dtype(d), shape(s), numel(checked_numel(s, dtype_size(d))), storage(std::move(st)),
      seq(tls_ids.next_seq++), thread(this_thread_number()) {
  g_live_tensors.fetch_add(1, std::memory_order_relaxed);
}
TensorImpl::~TensorImpl() { g_live_tensors.fetch_sub(1, std::memory_order_relaxed); }

bool TensorImpl::find_link(uint64_t tape, uint32_t* slot) const {
  for (int i = 0; i < n_links; ++i)
    if (links[i].tape == tape) { *slot = links[i].slot; return true; }
  if (more_links)
    for (const TapeLink& l : *more_links)
      if (l.tape == tape) { *slot = l.slot; return true; }
  return false;
}

void TensorImpl::add_link(uint64_t tape, uint32_t slot) {
  if (n_links < 2) { links[n_links++] = TapeLink{tape, slot}; return; }
  // Full: drop links to tapes that are gone (a long-lived tensor such as a variable's value
  // is linked by every tape that reads it), then append.
  int kept = 0;
  for (int i = 0; i < n_links; ++i)
    if (detail::tape_alive(links[i].tape)) links[kept++] = links[i];
  n_links = uint8_t(kept);
  if (more_links) {
    auto& v = *more_links;
    v.erase(std::remove_if(v.begin(), v.end(), [](const TapeLink& l) { return !detail::tape_alive(l.tape); }), v.end());
    while (n_links < 2 && !v.empty()) { links[n_links++] = v.back(); v.pop_back(); }
  }
  if (n_links < 2) { links[n_links++] = TapeLink{tape, slot}; return; }
  if (!more_links) more_links = std::make_unique<std::vector<TapeLink>>();
  more_links->push_back(TapeLink{tape, slot});
}

// ---- Tensor ----

Tensor Tensor::empty(DType dtype, const Shape& shape) {
  // Every dim and the byte count are checked before any allocation.
  const int64_t n = checked_numel(shape, dtype_size(dtype));
  StoragePtr st(Storage::allocate(size_t(n) * dtype_size(dtype)));
  return Tensor(std::make_shared<TensorImpl>(dtype, shape, std::move(st)));
}

Tensor Tensor::view_as(const Shape& s) const {
  raw();  // a deferred tensor is computed first: views share its storage
  return Tensor(std::make_shared<TensorImpl>(dtype(), s, impl_->storage));
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
  return dispatch_all(dtype(), [&](auto tag) { return double(data<decltype(tag)>()[0]); });
}

int64_t live_tensors() { return g_live_tensors.load(); }
int64_t live_storages() { return g_live_storages.load(); }

}  // namespace gt

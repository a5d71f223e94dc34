#pragma once
// Tensor: an immutable n-d array. It owns a dtype, a shape and a reference to one contiguous
// row-major Storage (64-byte aligned, reference counted). Reshapes share the storage; every
// op returns a new TensorImpl, never an input's. A TensorImpl also carries its tape links:
// for each tape that can differentiate with respect to it, the tape's serial and the slot
// that tape gave it. Tensors never point at tapes, and at other tensors only for a gradient's
// structural-zero mask and a forward-mode tangent (never along a chain of ops), so a chain of
// a million ops is freed by the tape's flat arrays, without recursion.
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "gradtape/dtype.h"
#include "gradtape/shape.h"

namespace gt {

// A reference-counted, 64-byte aligned block of bytes from the caching allocator.
class Storage {
 public:
  static Storage* allocate(size_t nbytes);  // refcount 1, contents uninitialised
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release();
  long use_count() const { return refs_.load(std::memory_order_acquire); }
  void* data() { return data_; }
  size_t nbytes() const { return nbytes_; }

 private:
  std::atomic<long> refs_{1};
  size_t nbytes_ = 0;
  size_t capacity_ = 0;
  void* data_ = nullptr;
};

// An owning handle to a Storage (an intrusive pointer).
class StoragePtr {
 public:
  StoragePtr() = default;
  explicit StoragePtr(Storage* s) : s_(s) {}  // adopts one reference
  StoragePtr(const StoragePtr& o) : s_(o.s_) { if (s_) s_->retain(); }
  StoragePtr(StoragePtr&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StoragePtr& operator=(StoragePtr o) noexcept { std::swap(s_, o.s_); return *this; }
  ~StoragePtr() { if (s_) s_->release(); }
  Storage* get() const { return s_; }
  Storage* operator->() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

 private:
  Storage* s_ = nullptr;
};

// A deferred elementwise computation (cpp/src/fusion.h).
namespace fusion { struct Pending; }

// Which tape slot a tensor occupies on a tape (see tape.h).
struct TapeLink {
  uint64_t tape;
  uint32_t slot;
};

// A tensor's tape links: (tape serial, slot) pairs, two inline and more (deeply nested tapes,
// or many threads reading one variable) in an overflow list. One tensor may be read by several
// threads at once, each recording on its own tapes (a shared variable's value), so links are
// thread-safe: a seqlock. find() takes no lock: it reads the sequence number, the inline
// links (atomics) and the sequence number again, and retries if a writer ran in between.
// add() makes the sequence number odd with a compare-and-swap (that is the writers' lock),
// writes, and makes it even again. The overflow list is read and written only under that
// lock. On x86 a find() costs two more plain loads than an unsynchronised one; an add(), one
// locked instruction. Links to tapes that are gone are pruned when the inline pair is full.
class TapeLinks {
 public:
  TapeLinks() = default;
  ~TapeLinks();
  TapeLinks(const TapeLinks&) = delete;
  TapeLinks& operator=(const TapeLinks&) = delete;

  bool find(uint64_t tape, uint32_t* slot) const;
  void add(uint64_t tape, uint32_t slot);
  // Whether any tape (alive or gone) is linked.
  bool empty() const;

 private:
  uint32_t lock() const;         // returns the (odd) locked sequence number
  void unlock(uint32_t s) const;
  bool find_more_locked(uint64_t tape, uint32_t* slot) const;

  mutable std::atomic<uint32_t> seq_{0};  // odd while a writer (or an overflow reader) holds it
  std::atomic<uint8_t> n_{0};             // inline links in use
  std::atomic<bool> has_more_{false};     // the overflow list is not empty
  std::atomic<uint32_t> slot_[2] = {};
  std::atomic<uint64_t> tape_[2] = {};
  std::vector<TapeLink>* more_ = nullptr;  // guarded by the lock
};

struct TensorImpl {
  TensorImpl(DType d, const Shape& s, StoragePtr st);
  // The same, for a caller that has already taken `numel` from checked_numel(s, dtype_size(d))
  // (Tensor::empty, which must check before it allocates): the count is not computed twice.
  TensorImpl(DType d, const Shape& s, StoragePtr st, int64_t checked_numel);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  DType dtype;
  Shape shape;
  int64_t numel;
  StoragePtr storage;

  // The tapes that can differentiate with respect to this tensor (thread-safe, see TapeLinks).
  TapeLinks links;

  // Where it was made: a creation number (per thread) and the making thread's number, so that a
  // None gradient can be explained ("computed before the tape", "on another thread").
  uint64_t seq;
  uint32_t thread;

  // Set when this tensor is a gradient in which some positions are structural zeros
  // (positions that a where/slice/gather did not select); see docs/structural-zeros.md.
  std::shared_ptr<TensorImpl> zero_mask;

  // Set while the values are deferred (elementwise fusion, cpp/src/fusion.h): `storage` is
  // empty and `pending` holds the program that computes them when they are first read
  // (materialize()). `pending` is guarded by fusion's lock; `deferred` is the fast-path test.
  std::atomic<bool> deferred{false};
  std::shared_ptr<const fusion::Pending> pending;

  // Forward mode (gradtape/forward.h): the tangent each forward accumulator gave this tensor,
  // as (accumulator serial, tangent) pairs; null for a tensor no accumulator tracks. A tangent
  // lives as long as its primal. Read and written under forward.cpp's lock.
  std::unique_ptr<std::vector<std::pair<uint64_t, std::shared_ptr<TensorImpl>>>> tangents;

  bool find_link(uint64_t tape, uint32_t* slot) const { return links.find(tape, slot); }
  void add_link(uint64_t tape, uint32_t slot) { links.add(tape, slot); }
};

// Computes a deferred tensor's values into its storage (once; thread-safe).
void materialize(TensorImpl& t);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}  // NOLINT: implicit

  // A new tensor with uninitialised contents. Throws on a negative dim or overflow.
  static Tensor empty(DType dtype, const Shape& shape);

  bool defined() const { return impl_ != nullptr; }
  DType dtype() const { return impl_->dtype; }
  const Shape& shape() const { return impl_->shape; }
  int ndim() const { return impl_->shape.rank(); }
  int64_t numel() const { return impl_->numel; }
  size_t nbytes() const { return size_t(impl_->numel) * dtype_size(impl_->dtype); }
  // The data (computed first if deferred).
  void* raw() const {
    if (impl_->deferred.load(std::memory_order_acquire)) materialize(*impl_);
    return impl_->storage->data();
  }
  template <class T> T* data() const { return static_cast<T*>(raw()); }

  // A new TensorImpl sharing this storage under another shape of the same element count.
  Tensor view_as(const Shape& s) const;
  // A new tensor with its own copy of the data.
  Tensor clone() const;

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  TensorImpl* get() const { return impl_.get(); }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // Reads a one-element tensor as double (for tests and the C++ API).
  double item() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Live-object counters, for leak tests and the soak test.
int64_t live_tensors();
// The number of the calling thread (1, 2, ... in order of first use).
uint32_t this_thread_number();
// The creation number the next tensor made on this thread will get.
uint64_t next_tensor_seq();
int64_t live_storages();

// Elementwise fusion (deferred evaluation of big elementwise ops, docs/design.md): on by
// default; GRADTAPE_NO_FUSION=1 in the environment turns it off at start.
void set_fusion(bool on);
bool fusion_enabled();
// Batches (fusion.h, Batch): a gradient's sweep and a gt.function run compute their deferred
// results together. On by default; off only to measure what they save.
void set_fusion_batches(bool on);
bool fusion_batches_enabled();

// Threads of gradtape's kernel pool (big elementwise ops and reductions; OpenBLAS has its own):
// GRADTAPE_NUM_THREADS, else the number of cores (at most 8).
void set_num_threads(int n);
int num_threads();

// The instruction set the hot loops run with in this process: "x86-64-v4" (AVX-512),
// "x86-64-v3" (AVX2) or "x86-64-v2", chosen when the library loads; "native" for a
// -march=native build; the architecture's name where nothing is dispatched (docs/building.md).
const char* kernel_isa();
// How the core was compiled: baseline, dispatch, vector math (one line, for reports).
const char* kernel_build_info();

}  // namespace gt

#pragma once
// Shape: the dimensions of a tensor, stored inline (no allocation) up to kMaxRank dims.
// Element counts are checked for overflow when a shape is built from user input.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace gt {

constexpr int kMaxRank = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  Shape(const int64_t* dims, int rank);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const int64_t* data() const { return dims_; }
  int64_t numel() const;
  std::vector<int64_t> vec() const { return std::vector<int64_t>(dims_, dims_ + rank_); }
  void push_back(int64_t d);
  std::string str() const;  // "(3, 4)" as Python prints a tuple

  bool operator==(const Shape& o) const {
    return rank_ == o.rank_ && std::memcmp(dims_, o.dims_, sizeof(int64_t) * rank_) == 0;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

// The one checked size computation: every tensor (stored, deferred or a view) gets its element
// count from here when it is made, so no later `numel * itemsize` can wrap. Throws
// InvalidArgument for a negative dimension or an element count past int64, and
// ResourceExhausted when the byte count (elements x `itemsize`) is over kMaxTensorBytes.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 46;  // 64 TiB: past any machine's memory
int64_t checked_numel(const Shape& s, size_t itemsize, const char* what = "tensor");

// Row-major strides (in elements) of a contiguous tensor of this shape.
void contiguous_strides(const Shape& s, int64_t* strides);
// NumPy broadcasting of two shapes; throws InvalidArgument naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Normalises an axis in [-rank, rank) to [0, rank); throws naming the axis and the rank.
int normalize_axis(int64_t axis, int rank, const char* op);

}  // namespace gt

#pragma once
// The objects of a kind that are alive now, held weakly, in the order they were added: the
// variables made by Variable::make and the streams made by random::make_stream, which
// gt.function notes before a trace whose effects it undoes (without walking the Python heap).
// The expired entries are dropped when the list has doubled since the last time, so it stays
// within twice the live ones, plus a few. Thread-safe.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace gt {

template <class T>
class WeakRegistry {
 public:
  void add(const std::shared_ptr<T>& p) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (items_.size() >= prune_at_) {
      items_.erase(std::remove_if(items_.begin(), items_.end(), [](const Item& i) { return i.first.expired(); }),
                   items_.end());
      prune_at_ = std::max<size_t>(64, 2 * items_.size());
    }
    items_.emplace_back(p, added_++);
  }

  // How many were ever added: a mark for live_since.
  uint64_t added() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return added_;
  }

  // The live ones added since `mark` (an earlier added()), or all of them (mark 0).
  std::vector<std::shared_ptr<T>> live_since(uint64_t mark = 0) const {
    std::vector<std::shared_ptr<T>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.reserve(items_.size());
    for (const Item& i : items_)
      if (i.second >= mark)
        if (std::shared_ptr<T> p = i.first.lock()) out.push_back(std::move(p));
    return out;
  }
  std::vector<std::shared_ptr<T>> live() const { return live_since(0); }

 private:
  using Item = std::pair<std::weak_ptr<T>, uint64_t>;  // (the object, its number in the order added)
  mutable std::mutex mutex_;
  std::vector<Item> items_;
  uint64_t added_ = 0;
  size_t prune_at_ = 64;
};

}  // namespace gt

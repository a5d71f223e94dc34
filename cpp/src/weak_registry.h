#pragma once
// The objects of a kind that are alive now, held weakly, in the order they were added: the
// variables made by Variable::make and the streams made by random::make_stream, which
// gt.function notes before a trace whose effects it undoes (without walking the Python heap).
// The expired entries are dropped when the list has doubled since the last time, so it stays
// within twice the live ones, plus a few. Thread-safe.
#include <algorithm>
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
      items_.erase(std::remove_if(items_.begin(), items_.end(), [](const std::weak_ptr<T>& w) { return w.expired(); }),
                   items_.end());
      prune_at_ = std::max<size_t>(64, 2 * items_.size());
    }
    items_.push_back(p);
  }

  std::vector<std::shared_ptr<T>> live() const {
    std::vector<std::shared_ptr<T>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.reserve(items_.size());
    for (const std::weak_ptr<T>& w : items_)
      if (std::shared_ptr<T> p = w.lock()) out.push_back(std::move(p));
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<T>> items_;
  size_t prune_at_ = 64;
};

}  // namespace gt

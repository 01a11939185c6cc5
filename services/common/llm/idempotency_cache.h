// "Same idempotency key, same answer": a bounded, expiring, in-memory store of
// the answers of billed calls, so a caller that retries after a crash or a lost
// response is not billed twice. Per process; a replica that restarts forgets.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_IDEMPOTENCY_CACHE_H_
#define AUTOPACK_SERVICES_COMMON_LLM_IDEMPOTENCY_CACHE_H_

#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/common/billed_usage.h"

namespace autopack::llm {

template <typename Response>
class IdempotencyCache {
 public:
  struct Options {
    size_t max_entries = 4096;
    absl::Duration ttl = absl::Hours(6);
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  IdempotencyCache() : IdempotencyCache(Options()) {}
  explicit IdempotencyCache(Options options) : options_(std::move(options)) {}

  // Returns the stored answer for `key` if there is a live one; otherwise runs
  // `compute` and stores its answer. Errors are stored only when they carry
  // billed usage (billed_usage.h): asked again, the key returns that error and
  // its usage rather than billing a second time, so a caller that lost the
  // first answer can still settle it; other errors are not stored, so such a
  // call can be retried. Concurrent calls with one key wait for the first. An
  // empty key always computes. INVALID_ARGUMENT when the key was first used
  // with a different `request` (the serialized request without its key).
  absl::StatusOr<Response> GetOrCompute(const std::string& key, const std::string& request,
                                        const std::function<absl::StatusOr<Response>()>& compute) {
    if (key.empty()) return compute();
    const size_t request_hash = absl::Hash<std::string>()(request);
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        auto it = entries_.find(key);
        if (it != entries_.end() && !it->second.in_flight &&
            options_.now() - it->second.stored_at > options_.ttl) {
          Erase(it);
          it = entries_.end();
        }
        if (it == entries_.end()) {
          Entry& entry = entries_[key];
          entry.request_hash = request_hash;
          entry.in_flight = true;
          order_.push_back(key);
          entry.position = std::prev(order_.end());
          break;
        }
        if (it->second.request_hash != request_hash) {
          return absl::InvalidArgumentError(absl::StrCat(
              "idempotency_key \"", key, "\" was already used for a different request"));
        }
        if (!it->second.in_flight) return *it->second.response;
        std::pair<IdempotencyCache*, const std::string*> waited(this, &key);
        mu_.Await(absl::Condition(
            +[](std::pair<IdempotencyCache*, const std::string*>* arg) {
              auto found = arg->first->entries_.find(*arg->second);
              return found == arg->first->entries_.end() || !found->second.in_flight;
            },
            &waited));
      }
    }
    absl::StatusOr<Response> result = compute();
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (!result.ok() && !HasBilledUsage(result.status())) {
      Erase(it);
      return result;
    }
    it->second.in_flight = false;
    it->second.response = result;
    it->second.stored_at = options_.now();
    EvictOverflow();
    return result;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    size_t request_hash = 0;
    bool in_flight = false;
    absl::optional<absl::StatusOr<Response>> response;
    absl::Time stored_at;
    std::list<std::string>::iterator position;
  };
  using Map = std::map<std::string, Entry>;

  void Erase(typename Map::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    order_.erase(it->second.position);
    entries_.erase(it);
  }

  // Drops the oldest finished entries beyond max_entries.
  void EvictOverflow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto position = order_.begin();
    while (entries_.size() > options_.max_entries && position != order_.end()) {
      auto it = entries_.find(*position);
      ++position;
      if (!it->second.in_flight) Erase(it);
    }
  }

  const Options options_;
  mutable absl::Mutex mu_;
  Map entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> order_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_IDEMPOTENCY_CACHE_H_

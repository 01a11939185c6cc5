// A ceiling on the server streams one caller holds open at once. A sync gRPC
// server spends a thread on every open stream, so without it one caller can
// take every thread of the server with streams it never reads.
#ifndef AUTOPACK_SERVICES_COMMON_STREAM_QUOTA_H_
#define AUTOPACK_SERVICES_COMMON_STREAM_QUOTA_H_

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace autopack {

class StreamQuota {
 public:
  // Holds one of the caller's streams until destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : quota_(other.quota_), caller_(std::move(other.caller_)) { other.quota_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class StreamQuota;
    Slot(StreamQuota* quota, std::string caller) : quota_(quota), caller_(std::move(caller)) {}
    StreamQuota* quota_;
    std::string caller_;
  };

  explicit StreamQuota(int max_per_caller) : max_per_caller_(max_per_caller) {}

  // A slot for `caller`, or RESOURCE_EXHAUSTED naming the limit when the
  // caller already holds max_per_caller streams.
  absl::Status Acquire(const std::string& caller, std::optional<Slot>* slot);

  int open(const std::string& caller) const;

 private:
  void Release(const std::string& caller);

  const int max_per_caller_;
  mutable absl::Mutex mu_;
  std::map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_STREAM_QUOTA_H_

#include "services/common/stream_quota.h"

#include "absl/strings/str_cat.h"

namespace autopack {

StreamQuota::Slot::~Slot() {
  if (quota_ != nullptr) quota_->Release(caller_);
}

absl::Status StreamQuota::Acquire(const std::string& caller, std::optional<Slot>* slot) {
  absl::MutexLock lock(&mu_);
  int& open = open_[caller];
  if (open >= max_per_caller_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this caller already has ", open, " streams open (the server allows ", max_per_caller_,
                     "); close one first"));
  }
  ++open;
  slot->emplace(Slot(this, caller));
  return absl::OkStatus();
}

int StreamQuota::open(const std::string& caller) const {
  absl::MutexLock lock(&mu_);
  const auto it = open_.find(caller);
  return it == open_.end() ? 0 : it->second;
}

void StreamQuota::Release(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  if (--open_[caller] <= 0) open_.erase(caller);
}

}  // namespace autopack

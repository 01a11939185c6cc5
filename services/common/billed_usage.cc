#include "services/common/billed_usage.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace autopack {

void AddTokenUsage(const v1::TokenUsage& add, v1::TokenUsage* total) {
  total->set_input_tokens(total->input_tokens() + add.input_tokens());
  total->set_cached_input_tokens(total->cached_input_tokens() + add.cached_input_tokens());
  total->set_cache_write_tokens(total->cache_write_tokens() + add.cache_write_tokens());
  total->set_output_tokens(total->output_tokens() + add.output_tokens());
  total->set_reasoning_tokens(total->reasoning_tokens() + add.reasoning_tokens());
  total->set_unreported_answers(total->unreported_answers() + add.unreported_answers());
}

void AddBilledUsage(const v1::TokenUsage& usage, absl::Status* status) {
  if (status->ok()) return;
  v1::TokenUsage total = BilledUsageOf(*status);
  AddTokenUsage(usage, &total);
  status->SetPayload(kBilledUsageTypeUrl, absl::Cord(total.SerializeAsString()));
}

v1::TokenUsage BilledUsageOf(const absl::Status& status) {
  v1::TokenUsage usage;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kBilledUsageTypeUrl)) {
    usage.ParseFromString(std::string(*payload));
  }
  return usage;
}

bool HasBilledUsage(const absl::Status& status) {
  return status.GetPayload(kBilledUsageTypeUrl).has_value();
}

}  // namespace autopack

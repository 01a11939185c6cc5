#include "services/common/llm/request_checks.h"

#include "absl/strings/str_cat.h"
#include "services/common/text.h"

namespace autopack::llm {
namespace {

absl::Status CheckShort(const std::string& value, size_t max, const char* field) {
  if (value.size() > max || HasControlCharacters(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", ClipForMessage(value, 40), "\" must be at most ",
                                                   max, " bytes without control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckModelCall(const ModelCall& call) {
  if (call.model->empty()) return absl::InvalidArgumentError("model is empty");
  if (absl::Status s = CheckShort(*call.model, 200, "model"); !s.ok()) return s;
  if (call.max_output_tokens <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_output_tokens must be positive, got ", call.max_output_tokens));
  }
  if (call.max_output_tokens > kMaxOutputTokensCeiling) {
    return absl::InvalidArgumentError(absl::StrCat("max_output_tokens must be at most ", kMaxOutputTokensCeiling,
                                                   ", got ", call.max_output_tokens));
  }
  if (absl::Status s = CheckShort(*call.idempotency_key, 256, "idempotency_key"); !s.ok()) return s;
  if (absl::Status s = CheckShort(*call.run_id, 128, "run_id"); !s.ok()) return s;
  if (call.phase != nullptr) {
    if (absl::Status s = CheckShort(call.phase->phase_id(), 64, "phase.phase_id"); !s.ok()) return s;
  }
  if (call.context_files->size() > kMaxContextFiles) {
    return absl::InvalidArgumentError(absl::StrCat("context_files has ", call.context_files->size(),
                                                   " entries; at most ", kMaxContextFiles));
  }
  for (int i = 0; i < call.context_files->size(); ++i) {
    const std::string& path = call.context_files->Get(i).path();
    if (path.empty() || path.size() > 4096 || HasControlCharacters(path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "context_files[", i, "].path must be 1-4096 bytes without control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace autopack::llm

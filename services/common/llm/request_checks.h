// The checks Builder and Auditor both make on what a caller sizes in a model
// request, before any provider is called: a request is bounded by gRPC's
// message size, but counts, key lengths and the output limit are not.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_REQUEST_CHECKS_H_
#define AUTOPACK_SERVICES_COMMON_LLM_REQUEST_CHECKS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "autopack/v1/common.pb.h"
#include "google/protobuf/repeated_field.h"

namespace autopack::llm {

struct ModelCall {
  const v1::PhaseSpec* phase;  // may be null when the request has none
  const google::protobuf::RepeatedPtrField<v1::ContextFile>* context_files;
  const std::string* model;
  int32_t max_output_tokens;
  const std::string* idempotency_key;
  const std::string* run_id;
};

// No catalog model allows more output than this; a larger limit is a caller's
// mistake, not a request to pass on.
inline constexpr int32_t kMaxOutputTokensCeiling = 1 << 20;
inline constexpr int kMaxContextFiles = 1000;

// OK, or INVALID_ARGUMENT naming the first field at fault.
absl::Status CheckModelCall(const ModelCall& call);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_REQUEST_CHECKS_H_

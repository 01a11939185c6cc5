// Flags shared by the servers that call models (--providers_config,
// --pricing_config), defined once like server_flags.h.
#ifndef AUTOPACK_SERVICES_COMMON_LLM_LLM_FLAGS_H_
#define AUTOPACK_SERVICES_COMMON_LLM_LLM_FLAGS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/llm_client.h"

namespace autopack::llm {

// The LlmClient the flags describe; errors name the file, line and key.
absl::StatusOr<std::unique_ptr<LlmClient>> LlmClientFromFlags(HttpClient* http);

}  // namespace autopack::llm

#endif  // AUTOPACK_SERVICES_COMMON_LLM_LLM_FLAGS_H_

// An LlmClient wired to a FakeProviderServer, for tests of code that calls
// models: providers "openai" (kind openai) and "anthropic" point at the fake,
// with a key in the environment and no retries unless asked.
#ifndef AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_LLM_H_
#define AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_LLM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/llm/http_client.h"
#include "services/common/llm/llm_client.h"
#include "tests/fake_provider/fake_provider_server.h"

namespace autopack::testing {

class FakeLlm {
 public:
  // Prices from `pricing_path` (runfiles-relative).
  static absl::StatusOr<std::unique_ptr<FakeLlm>> Start(
      const std::string& pricing_path = "config/pricing.yaml", int max_retries = 0);

  FakeProviderServer& server() { return *server_; }
  const llm::LlmClient& client() const { return *client_; }

 private:
  FakeLlm() = default;
  std::unique_ptr<FakeProviderServer> server_;
  llm::CurlHttpClient http_;
  std::unique_ptr<llm::LlmClient> client_;
};

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_LLM_H_

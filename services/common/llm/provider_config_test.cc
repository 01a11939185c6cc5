#include "services/common/llm/provider_config.h"

#include <stdlib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/status_matchers.h"

namespace autopack::llm {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::map<std::string, ProviderConfig>> Parse(const std::string& text) {
  auto root = ConfigNode::Parse(text, "providers.yaml");
  if (!root.ok()) return root.status();
  return ProvidersFromConfig(*root);
}

TEST(ProviderConfigTest, TheShippedFileLoads) {
  auto providers = LoadProvidersFile("config/providers.yaml");
  ASSERT_THAT(providers, IsOk());
  ASSERT_EQ(providers->count("openai"), 1u);
  ASSERT_EQ(providers->count("anthropic"), 1u);
  EXPECT_EQ(providers->at("openai").kind, ProviderKind::kOpenAi);
  EXPECT_EQ(providers->at("openai").base_url, "https://api.openai.com/v1");
  EXPECT_EQ(providers->at("anthropic").kind, ProviderKind::kAnthropic);
  EXPECT_EQ(providers->at("anthropic").retry.max_retries, 2);
}

TEST(ProviderConfigTest, AllFieldsAndDefaults) {
  auto providers = Parse(R"(
providers:
  local:
    kind: openai_compatible
    base_url: http://127.0.0.1:11434/v1/
    connect_timeout_seconds: 2
    request_timeout_seconds: 0.5
    max_retries: 0
    backoff_base_seconds: 0.1
    backoff_max_seconds: 1
    max_retry_after_seconds: 30
  azure:
    kind: openai_compatible
    base_url: https://example.openai.azure.com/openai/v1
    api_key_file: /run/secrets/azure
    api_key_header: api-key
)");
  ASSERT_THAT(providers, IsOk());
  const ProviderConfig& local = providers->at("local");
  EXPECT_EQ(local.kind, ProviderKind::kOpenAiCompatible);
  EXPECT_EQ(local.base_url, "http://127.0.0.1:11434/v1");  // trailing slash dropped
  EXPECT_EQ(local.connect_timeout, absl::Seconds(2));
  EXPECT_EQ(local.request_timeout, absl::Milliseconds(500));
  EXPECT_EQ(local.retry.max_retries, 0);
  EXPECT_EQ(local.retry.base_backoff, absl::Milliseconds(100));
  EXPECT_EQ(local.retry.max_retry_after, absl::Seconds(30));
  const ProviderConfig& azure = providers->at("azure");
  EXPECT_EQ(azure.api_key_header, "api-key");
  EXPECT_EQ(azure.request_timeout, absl::Seconds(300));
  EXPECT_EQ(azure.retry.max_retries, 2);
}

TEST(ProviderConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: gemini\n    base_url: http://h\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("providers.yaml:3"), HasSubstr("providers.x.kind"),
                             HasSubstr("gemini"))));
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: openai\n    base_url: ftp://h\n    "
                    "api_key_env: K\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("providers.x.base_url")));
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: openai\n    base_url: http://h\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("api_key_env")));
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: openai_compatible\n    base_url: http://h\n"
                    "    request_timeout_seconds: -1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("providers.x.request_timeout_seconds")));
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: openai_compatible\n    base_url: http://h\n"
                    "    max_retrys: 3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_retrys")));
  EXPECT_THAT(Parse("providers:\n  x:\n    kind: anthropic\n    base_url: http://h\n"
                    "    api_key_env: A\n    api_key_file: /f\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
  EXPECT_THAT(Parse("providers: {}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no providers")));
  EXPECT_THAT(LoadProvidersFile("no/such/providers.yaml"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/providers.yaml")));
}

TEST(ProviderConfigTest, KeysComeFromTheEnvironmentOrAFileAndAreNeverInErrors) {
  ProviderConfig config;
  config.name = "p";
  config.api_key_env = "AUTOPACK_CONFIG_TEST_KEY";
  unsetenv("AUTOPACK_CONFIG_TEST_KEY");
  EXPECT_THAT(ResolveApiKey(config), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("AUTOPACK_CONFIG_TEST_KEY")));
  setenv("AUTOPACK_CONFIG_TEST_KEY", " sk-env \n", 1);
  EXPECT_THAT(ResolveApiKey(config), IsOkAndHolds(std::string("sk-env")));

  config.api_key_env.clear();
  config.api_key_file = std::string(getenv("TEST_TMPDIR")) + "/key";
  EXPECT_THAT(ResolveApiKey(config), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr(config.api_key_file)));
  ASSERT_THAT(WriteFileAtomically(config.api_key_file, "sk-file\n"), IsOk());
  EXPECT_THAT(ResolveApiKey(config), IsOkAndHolds(std::string("sk-file")));

  config.api_key_file.clear();
  EXPECT_THAT(ResolveApiKey(config), IsOkAndHolds(std::string()));
}

TEST(ProviderConfigTest, SplitModel) {
  EXPECT_THAT(SplitModel("openai/gpt-4o"),
              IsOkAndHolds(std::make_pair(std::string("openai"), std::string("gpt-4o"))));
  EXPECT_THAT(SplitModel("router/meta-llama/llama-3-70b"),
              IsOkAndHolds(std::make_pair(std::string("router"),
                                          std::string("meta-llama/llama-3-70b"))));
  for (const char* bad : {"gpt-4o", "/gpt-4o", "openai/", ""}) {
    EXPECT_THAT(SplitModel(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("provider/name")))
        << bad;
  }
}

}  // namespace
}  // namespace autopack::llm

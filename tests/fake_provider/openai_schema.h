// Checks JSON documents against OpenAI's published OpenAPI schema
// (third_party/openai-openapi) with python3-jsonschema, through
// validate_openai.py. Tests run it on everything the fake provider received
// and answered in the OpenAI wire format.
#ifndef AUTOPACK_TESTS_FAKE_PROVIDER_OPENAI_SCHEMA_H_
#define AUTOPACK_TESTS_FAKE_PROVIDER_OPENAI_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/fake_provider/fake_provider_server.h"

namespace autopack::testing {

// OK when every document validates against components.schemas.<schema_name>;
// INVALID_ARGUMENT listing each violation (document number, JSON path, reason).
// Needs the runfiles of the :openai_schema target in the working directory.
absl::Status ValidateOpenAiSchema(const std::string& schema_name,
                                  const std::vector<std::string>& documents);

// Every OpenAI-format request in `exchanges` against CreateChatCompletionRequest,
// and every 200 chat completion answered against CreateChatCompletionResponse.
// FAILED_PRECONDITION when there is no OpenAI request at all (a check of nothing).
absl::Status ValidateOpenAiExchanges(const std::vector<RecordedExchange>& exchanges);

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_FAKE_PROVIDER_OPENAI_SCHEMA_H_

#include "tests/fake_provider/openai_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/files.h"

namespace autopack::testing {
namespace {

constexpr char kScript[] = "tests/fake_provider/validate_openai.py";
constexpr char kSchema[] = "third_party/openai-openapi/openai-openapi.json";

std::string TempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/openai_schema_XXXXXX");
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

}  // namespace

absl::Status ValidateOpenAiSchema(const std::string& schema_name,
                                  const std::vector<std::string>& documents) {
  if (documents.empty()) return absl::OkStatus();
  const std::string dir = TempDir();
  if (dir.empty()) return absl::InternalError("mkdtemp failed");
  std::string command = absl::StrCat("/usr/bin/python3 ", kScript, " ", kSchema, " ", schema_name);
  for (size_t i = 0; i < documents.size(); ++i) {
    const std::string path = absl::StrCat(dir, "/document_", i + 1, ".json");
    if (absl::Status s = WriteFileAtomically(path, documents[i]); !s.ok()) return s;
    absl::StrAppend(&command, " ", path);
  }
  absl::StrAppend(&command, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
    return absl::InvalidArgumentError(absl::StrCat("not valid ", schema_name, ":\n", output));
  }
  return absl::InternalError(absl::StrCat("validator failed to run (", command, "):\n", output));
}

absl::Status ValidateOpenAiExchanges(const std::vector<RecordedExchange>& exchanges) {
  std::vector<std::string> requests;
  std::vector<std::string> responses;
  for (const RecordedExchange& exchange : exchanges) {
    if (!exchange.openai) continue;
    requests.push_back(exchange.request_body);
    const nlohmann::json body =
        nlohmann::json::parse(exchange.response_body, nullptr, /*allow_exceptions=*/false);
    if (exchange.status == 200 && body.is_object() && body.contains("choices")) {
      responses.push_back(exchange.response_body);
    }
  }
  if (requests.empty()) {
    return absl::FailedPreconditionError("no OpenAI-format request was recorded");
  }
  if (absl::Status s = ValidateOpenAiSchema("CreateChatCompletionRequest", requests); !s.ok()) {
    return s;
  }
  return ValidateOpenAiSchema("CreateChatCompletionResponse", responses);
}

}  // namespace autopack::testing

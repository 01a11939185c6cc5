#include "services/common/llm/request_checks.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::llm {
namespace {

using ::testing::HasSubstr;

class RequestChecksTest : public ::testing::Test {
 protected:
  ModelCall Call() { return {&phase_, &files_, &model_, 4096, &key_, &run_}; }
  v1::PhaseSpec phase_;
  google::protobuf::RepeatedPtrField<v1::ContextFile> files_;
  std::string model_ = "openai/gpt-4o-mini";
  std::string key_ = "run-1/rsv-1";
  std::string run_ = "run-1";
};

TEST_F(RequestChecksTest, AValidCallPasses) { EXPECT_THAT(CheckModelCall(Call()), IsOk()); }

TEST_F(RequestChecksTest, EachFieldIsNamed) {
  ModelCall call = Call();
  call.max_output_tokens = 2000000000;
  EXPECT_THAT(CheckModelCall(call), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_output_tokens must be at most")));
  call = Call();
  call.max_output_tokens = -1;
  EXPECT_THAT(CheckModelCall(call), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_output_tokens must be positive")));
  key_ = std::string(100000, 'k');
  const absl::Status key = CheckModelCall(Call());
  EXPECT_THAT(key, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("idempotency_key")));
  EXPECT_LT(key.message().size(), 200u);
  key_ = "k";
  model_ = std::string("openai/\0x", 9);
  EXPECT_THAT(CheckModelCall(Call()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model")));
  model_ = "openai/gpt-4o-mini";
  for (int i = 0; i < kMaxContextFiles + 1; ++i) files_.Add()->set_path("a.py");
  EXPECT_THAT(CheckModelCall(Call()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context_files has 1001")));
  files_.Clear();
  files_.Add()->set_path("");
  EXPECT_THAT(CheckModelCall(Call()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context_files[0].path")));
}

}  // namespace
}  // namespace autopack::llm

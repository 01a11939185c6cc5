// Plays the models of a run plan on the fake provider: a Builder request gets
// the answer scripted for its phase (found by the "## Phase <id>:" heading the
// Builder's prompt carries), an Auditor request (one asking for structured
// output) an approval. A retry (a prompt with earlier attempts' feedback) gets
// the phase's retry answer when there is one. Answers depend only on the
// request, so they stay right whatever order calls come in: across retries,
// crashes and several runs.
#ifndef AUTOPACK_TESTS_FAKE_PROVIDER_PLAN_RESPONDER_H_
#define AUTOPACK_TESTS_FAKE_PROVIDER_PLAN_RESPONDER_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "tests/fake_provider/fake_provider_server.h"

namespace autopack::testing {

struct PlanAnswers {
  // Phase id -> the Builder model's whole answer (summary and edit).
  std::map<std::string, std::string> builder_answers;
  // Phase id -> the answer to a retry of that phase (after feedback).
  std::map<std::string, std::string> retry_answers;
  FakeUsage builder_usage{.input = 1200, .cached = 0, .output = 300, .reasoning = 0};
  FakeUsage auditor_usage{.input = 900, .cached = 0, .output = 60, .reasoning = 0};
};

FakeProviderServer::Responder PlanResponder(PlanAnswers answers);

// Reads DIR/<phase_id>.md for every such file in DIR, and DIR/<phase_id>.retry.md
// as that phase's retry answer.
absl::StatusOr<PlanAnswers> LoadPlanAnswers(const std::string& dir);

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_FAKE_PROVIDER_PLAN_RESPONDER_H_

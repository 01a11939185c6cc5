#include "tests/fake_provider/plan_responder.h"

#include <dirent.h>

#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/files.h"

namespace autopack::testing {

FakeProviderServer::Responder PlanResponder(PlanAnswers answers) {
  return [answers = std::move(answers)](const RecordedExchange& request) {
    const std::string& body = request.request_body;
    if (absl::StrContains(body, "\"response_format\"") || absl::StrContains(body, "\"tools\"")) {
      return FakeReply::Content(
          R"({"summary":"The change does what the phase asks.","approve":true,"issues":[]})",
          answers.auditor_usage);
    }
    static const std::regex kPhase("## Phase ([A-Za-z0-9._-]+):");
    std::smatch match;
    if (!std::regex_search(body, match, kPhase)) {
      return FakeReply::HttpError(500, "fake provider: no phase heading in the prompt");
    }
    // The Builder prompt's section of earlier attempts' feedback (builder_prompt.cc).
    if (absl::StrContains(body, "## Earlier attempts")) {
      auto retry = answers.retry_answers.find(match[1].str());
      if (retry != answers.retry_answers.end()) return FakeReply::Content(retry->second, answers.builder_usage);
    }
    auto it = answers.builder_answers.find(match[1].str());
    if (it == answers.builder_answers.end()) {
      return FakeReply::HttpError(500,
                                  absl::StrCat("fake provider: no answer for phase ", match[1].str()));
    }
    return FakeReply::Content(it->second, answers.builder_usage);
  };
}

absl::StatusOr<PlanAnswers> LoadPlanAnswers(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::NotFoundError(absl::StrCat("cannot open directory ", dir));
  PlanAnswers answers;
  absl::Status status;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (!absl::EndsWith(name, ".md")) continue;
    absl::StatusOr<std::string> text = ReadFile(absl::StrCat(dir, "/", name));
    if (!text.ok()) {
      status = text.status();
      break;
    }
    if (absl::EndsWith(name, ".retry.md")) {
      answers.retry_answers[name.substr(0, name.size() - 9)] = *text;
    } else {
      answers.builder_answers[name.substr(0, name.size() - 3)] = *text;
    }
  }
  closedir(d);
  if (!status.ok()) return status;
  if (answers.builder_answers.empty()) {
    return absl::NotFoundError(absl::StrCat("no <phase_id>.md answers in ", dir));
  }
  return answers;
}

}  // namespace autopack::testing

#include "services/auditor/llm_review.h"

#include "absl/strings/str_cat.h"
#include "services/auditor/static_checks.h"
#include "services/common/issue_fingerprint.h"
#include "services/common/llm/phase_prompt.h"
#include "services/common/llm/untrusted_text.h"

namespace autopack::auditor {
namespace {

using json = nlohmann::json;

constexpr char kSystem[] =
    "You are the Auditor of Autopack, an autonomous coding system. You review one patch "
    "written by another model for one phase of a plan, before it is applied.\n"
    "Report every problem as an issue. severity \"major\": the patch must not be applied as is "
    "(a bug, a security problem, an unmet acceptance criterion, broken tests or build, a change "
    "outside the phase's scope). severity \"minor\": worth fixing later (style, naming, small "
    "gaps). Give path and 1-based line in the new file where you can (\"\" and 0 otherwise), a "
    "precise message and a concrete suggestion. Set approve to true only when there is no major "
    "issue. Answer only with the JSON object the schema describes.\n";

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::StatusOr<std::string> StringField(const json& object, const std::string& name,
                                        const std::string& where) {
  if (!object.contains(name)) return FieldError(where + name, "missing");
  if (!object[name].is_string()) return FieldError(where + name, "expected a string");
  return object[name].get<std::string>();
}

}  // namespace

const json& ReviewSchema() {
  static const json* schema = new json{
      {"type", "object"},
      {"additionalProperties", false},
      {"required", {"summary", "approve", "issues"}},
      {"properties",
       {{"summary", {{"type", "string"}}},
        {"approve", {{"type", "boolean"}}},
        {"issues",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"severity", "category", "path", "line", "message", "suggestion"}},
            {"properties",
             {{"severity", {{"type", "string"}, {"enum", {"minor", "major"}}}},
              {"category", {{"type", "string"}}},
              {"path", {{"type", "string"}}},
              {"line", {{"type", "integer"}}},
              {"message", {{"type", "string"}}},
              {"suggestion", {{"type", "string"}}}}}}}}}}},
  };
  return *schema;
}

llm::CompletionRequest BuildReviewPrompt(const v1::ReviewPatchRequest& request,
                                         const std::string& focus,
                                         const std::vector<v1::Issue>& static_issues) {
  llm::CompletionRequest prompt;
  prompt.system = absl::StrCat(kSystem, "Focus: ", focus, "\n", llm::kUntrustedDataRule, "\n");
  prompt.max_output_tokens = request.max_output_tokens();
  prompt.structured_output =
      llm::StructuredOutput{"patch_review", "The review of one patch.", ReviewSchema()};
  const v1::PhaseSpec& phase = request.phase();
  std::string& user = prompt.user;
  absl::StrAppend(&user, llm::PhasePromptSection(phase));
  if (!static_issues.empty()) {
    std::string found;
    for (const v1::Issue& issue : static_issues) {
      absl::StrAppend(&found, "- ", issue.category(), " ", issue.path(), ": ", issue.message(),
                      "\n");
    }
    absl::StrAppend(&user, "\n## Already found by deterministic checks (do not repeat)\n", found);
  }
  if (request.has_check_result()) {
    const v1::CheckResult& check = request.check_result();
    absl::StrAppend(&user, "\n## Check results\nexit code ", check.exit_code(),
                    check.passed() ? " (passed)" : " (failed)", "\n",
                    llm::FrameUntrusted("check output", check.output_tail()));
  }
  if (request.context_files_size() > 0) {
    absl::StrAppend(&user, "\n## Repository files before the patch\n");
    for (const v1::ContextFile& file : request.context_files()) {
      absl::StrAppend(&user, llm::FrameUntrusted(absl::StrCat("file ", file.path()), file.content()));
    }
  }
  absl::StrAppend(&user, "\n## The patch under review\n",
                  llm::FrameUntrusted("patch", request.patch()));
  return prompt;
}

absl::StatusOr<ModelReview> ParseModelReview(const std::string& text) {
  const json answer = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return absl::InvalidArgumentError("the answer is not JSON");
  if (!answer.is_object()) return FieldError("(root)", "expected an object");
  for (const auto& item : answer.items()) {
    if (!ReviewSchema()["properties"].contains(item.key())) {
      return FieldError(item.key(), "not in the schema");
    }
  }
  ModelReview review;
  auto summary = StringField(answer, "summary", "");
  if (!summary.ok()) return summary.status();
  review.summary = *summary;
  if (!answer.contains("approve") || !answer["approve"].is_boolean()) {
    return FieldError("approve", "expected a boolean");
  }
  if (!answer.contains("issues") || !answer["issues"].is_array()) {
    return FieldError("issues", "expected an array");
  }
  for (size_t i = 0; i < answer["issues"].size(); ++i) {
    const json& item = answer["issues"][i];
    const std::string where = absl::StrCat("issues[", i, "].");
    if (!item.is_object()) return FieldError(where, "expected an object");
    v1::Issue issue;
    issue.set_source(v1::ISSUE_SOURCE_LLM);
    auto severity = StringField(item, "severity", where);
    if (!severity.ok()) return severity.status();
    if (*severity == "major") {
      issue.set_severity(v1::SEVERITY_MAJOR);
    } else if (*severity == "minor") {
      issue.set_severity(v1::SEVERITY_MINOR);
    } else {
      return FieldError(where + "severity",
                        absl::StrCat("expected \"minor\" or \"major\", got \"", *severity, "\""));
    }
    for (const auto& [name, setter] :
         std::vector<std::pair<std::string, void (v1::Issue::*)(const std::string&)>>{
             {"category", &v1::Issue::set_category},
             {"path", &v1::Issue::set_path},
             {"message", &v1::Issue::set_message},
             {"suggestion", &v1::Issue::set_suggestion}}) {
      auto value = StringField(item, name, where);
      if (!value.ok()) return value.status();
      (issue.*setter)(*value);
    }
    if (issue.category().empty()) return FieldError(where + "category", "empty");
    if (issue.message().empty()) return FieldError(where + "message", "empty");
    if (!item.contains("line") || !item["line"].is_number_integer() || item["line"].get<int64_t>() < 0) {
      return FieldError(where + "line", "expected a non-negative integer");
    }
    issue.set_line(static_cast<int32_t>(item["line"].get<int64_t>()));
    for (const auto& field : item.items()) {
      if (!ReviewSchema()["properties"]["issues"]["items"]["properties"].contains(field.key())) {
        return FieldError(where + field.key(), "not in the schema");
      }
    }
    issue.set_fingerprint(IssueFingerprint(issue.category(), issue.path(), issue.message()));
    review.issues.push_back(std::move(issue));
  }
  return review;
}

}  // namespace autopack::auditor

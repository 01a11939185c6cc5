#include "services/builder/builder_prompt.h"

#include "absl/strings/str_cat.h"
#include "services/common/llm/phase_prompt.h"
#include "services/common/llm/untrusted_text.h"
#include "services/common/text.h"

namespace autopack::builder {
namespace {

constexpr char kRole[] =
    "You are the Builder of Autopack, an autonomous coding system. You implement one phase of a "
    "plan as a change to a git repository.\n"
    "Answer in exactly this form and nothing else:\n"
    "Summary: <one or two sentences on what the change does>\n";

constexpr char kUnifiedDiff[] =
    "```diff\n"
    "<a unified diff>\n"
    "```\n"
    "Diff rules:\n"
    "- git style: for each file \"--- a/PATH\" (or --- /dev/null for a new file), \"+++ b/PATH\" "
    "(or +++ /dev/null to delete), then hunks \"@@ -OLD_START,OLD_COUNT +NEW_START,NEW_COUNT @@\".\n"
    "- Context lines start with a space and are copied from the file shown; give enough of them "
    "that each hunk fits only one place of the file. Counts and line numbers may be approximate.\n";

constexpr char kSearchReplace[] =
    "then, for each change, the file's path on a line of its own and a block:\n"
    "path/to/file.py\n"
    "<<<<<<< SEARCH\n"
    "<lines copied exactly from the file, enough to occur only once in it>\n"
    "=======\n"
    "<the lines that replace them>\n"
    ">>>>>>> REPLACE\n"
    "Rules:\n"
    "- SEARCH must match one place of the file; several blocks may change one file, in file order.\n"
    "- To create a file, give its path and a block with an empty SEARCH.\n";

constexpr char kApplyPatch[] =
    "*** Begin Patch\n"
    "*** Update File: path/to/file.py\n"
    "@@ <a line of the file just above the change, e.g. the function's def line>\n"
    " <context line, copied exactly>\n"
    "-<removed line>\n"
    "+<added line>\n"
    "*** Add File: path/to/new.py\n"
    "+<every line of the new file>\n"
    "*** Delete File: path/to/old.py\n"
    "*** End Patch\n"
    "Rules:\n"
    "- Prefix every line of a change with a space (context), - or +; give 3 context lines above "
    "and below each change so that it fits only one place of the file.\n";

constexpr char kWholeFile[] =
    "then, for each file you change or create, its path on a line of its own followed by its "
    "complete new content in a fence:\n"
    "path/to/file.py\n"
    "```\n"
    "<the whole file>\n"
    "```\n"
    "Rules:\n"
    "- Always the whole file, every line of it, never a part.\n";

constexpr char kCommonRules[] =
    "- Write every added line in full: never \"...\", \"// existing code\" or other placeholders; "
    "never merge-conflict markers; text files only; paths relative to the repository root.\n"
    "- Change only what the phase needs, only under the allowed paths.\n"
    "If you cannot do the task, say why in one sentence and give no edit.\n";

absl::string_view FormatRules(v1::EditFormat format) {
  switch (format) {
    case v1::UNIFIED_DIFF: return kUnifiedDiff;
    case v1::APPLY_PATCH: return kApplyPatch;
    case v1::WHOLE_FILE: return kWholeFile;
    default: return kSearchReplace;
  }
}

void AppendFeedback(const v1::AttemptFeedback& feedback, std::string* out) {
  absl::StrAppend(out, "\n### Attempt ", feedback.attempt(), "\n");
  if (!feedback.builder_error().empty()) {
    absl::StrAppend(out, "Your answer could not be used: ",
                    llm::FrameUntrusted("builder error", feedback.builder_error()));
  }
  if (feedback.auditor_issues_size() > 0) {
    std::string issues;
    for (const v1::Issue& issue : feedback.auditor_issues()) {
      absl::StrAppend(&issues, v1::Severity_Name(issue.severity()), " ", issue.category(), " ",
                      issue.path(), issue.line() > 0 ? absl::StrCat(":", issue.line()) : "",
                      ": ", issue.message(),
                      issue.suggestion().empty() ? "" : absl::StrCat(" (fix: ", issue.suggestion(), ")"),
                      "\n");
    }
    absl::StrAppend(out, "The reviewer raised these issues; fix every MAJOR one:\n",
                    llm::FrameUntrusted("review issues", issues));
  }
  if (feedback.apply_rejections_size() > 0) {
    std::string rejections;
    for (const v1::ApplyRejection& rejection : feedback.apply_rejections()) {
      absl::StrAppend(&rejections, rejection.path(),
                      rejection.hunk() > 0 ? absl::StrCat(" hunk ", rejection.hunk()) : "", ": ",
                      rejection.reason(), "\n");
    }
    absl::StrAppend(out, "The patch did not apply; make its context match the files exactly:\n",
                    llm::FrameUntrusted("apply rejections", rejections));
  }
  if (feedback.has_check_result() && !feedback.check_result().passed()) {
    const v1::CheckResult& check = feedback.check_result();
    absl::StrAppend(out, "The project's checks failed (exit code ", check.exit_code(),
                    check.timed_out() ? ", timed out" : "",
                    check.tests_failed() > 0 ? absl::StrCat(", ", check.tests_failed(), " tests failed")
                                             : "",
                    "). Output tail:\n",
                    llm::FrameUntrusted("check output", KeepTail(check.output_tail(), 6000)));
  }
  if (!feedback.previous_patch().empty()) {
    absl::StrAppend(out, "The patch of that attempt, for reference:\n",
                    llm::FrameUntrusted("previous patch", KeepTail(feedback.previous_patch(), 20000)));
  }
}

}  // namespace

v1::EditFormat EffectiveEditFormat(const v1::GeneratePatchRequest& request) {
  return request.edit_format() == v1::EDIT_FORMAT_UNSPECIFIED ? v1::SEARCH_REPLACE : request.edit_format();
}

llm::CompletionRequest BuildPatchPrompt(const v1::GeneratePatchRequest& request) {
  const v1::PhaseSpec& phase = request.phase();
  llm::CompletionRequest prompt;
  prompt.system = absl::StrCat(kRole, FormatRules(EffectiveEditFormat(request)), kCommonRules,
                               llm::kUntrustedDataRule, "\n");
  prompt.max_output_tokens = request.max_output_tokens();
  std::string& user = prompt.user;
  absl::StrAppend(&user, llm::PhasePromptSection(phase));
  if (request.context_files_size() > 0) {
    absl::StrAppend(&user, "\n## Repository files\n");
    for (const v1::ContextFile& file : request.context_files()) {
      absl::StrAppend(&user, llm::FrameUntrusted(
                                 absl::StrCat("file ", file.path(),
                                              file.truncated() ? " (cut at the size limit)" : ""),
                                 file.content()));
    }
  }
  if (request.feedback_size() > 0) {
    absl::StrAppend(&user, "\n## Earlier attempts (oldest first)\n");
    for (const v1::AttemptFeedback& feedback : request.feedback()) AppendFeedback(feedback, &user);
  }
  absl::StrAppend(&user, "\nWrite the summary line and the edit now.\n");
  return prompt;
}

}  // namespace autopack::builder

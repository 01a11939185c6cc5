// Issue 10 (Must show 2): a Latin-1 file, not UTF-8, is patched end to end
// through gRPC: GitAdapter reads it into a `bytes` context field, the Builder's
// prompt carries U+FFFD for its bytes in the provider JSON, the model quotes
// them so in a search/replace block, the Builder makes an exact diff that keeps
// the file's bytes, the Auditor reviews it and GitAdapter commits it.
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

TEST(Latin1Test, ANonUtf8FileIsPatchedThroughEveryService) {
  PlanAnswers answers;
  answers.builder_answers["p1"] =
      "Summary: serves coffee instead of tea.\n"
      "notes/menu.txt\n<<<<<<< SEARCH\ncaf\xef\xbf\xbd cr\xef\xbf\xbd\x6d\x65\ntea\n=======\n"
      "caf\xef\xbf\xbd cr\xef\xbf\xbd\x6d\x65\ncoffee\n>>>>>>> REPLACE\n";
  auto suite = Suite::Start("latin1", std::move(answers));
  ASSERT_TRUE(suite.ok()) << suite.status();
  auto repo = (*suite)->MakeRepo("repo");
  ASSERT_TRUE(repo.ok()) << repo.status();
  ASSERT_EQ(std::system(absl::StrCat("set -e; cd ", *repo, "; mkdir -p notes; printf 'caf\\351 cr\\350me\\ntea\\n' > "
                                     "notes/menu.txt; git add -A; git -c user.name=t -c user.email=t@t commit -q -m menu")
                            .c_str()),
            0);
  auto supervisor = (*suite)->StartSupervisor("sqlite:" + (*suite)->dir() + "/latin1.db");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  auto stub = (*suite)->SupervisorStub(**supervisor);

  v1::RunSpec spec = NotesSpec("latin1", *repo, 1, 1);
  spec.mutable_tiers(0)->mutable_phases(0)->add_context_paths("notes/menu.txt");
  {
    grpc::ClientContext context;
    v1::CreateRunRequest request;
    *request.mutable_spec() = spec;
    v1::CreateRunResponse response;
    const grpc::Status status = stub->CreateRun(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  auto run = WaitForRunEnd(stub.get(), "latin1", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS) << run->state_reason();
  auto menu = ReadFile((*suite)->workspace_root() + "/latin1/repo/notes/menu.txt");
  ASSERT_TRUE(menu.ok()) << menu.status();
  EXPECT_EQ(*menu, "caf\xe9 cr\xe8me\ncoffee\n");
  bool saw_replacement = false;
  for (const RecordedExchange& exchange : (*suite)->fake().exchanges()) {
    saw_replacement = saw_replacement || absl::StrContains(exchange.request_body, "caf\xef\xbf\xbd cr");
  }
  EXPECT_TRUE(saw_replacement);
}

}  // namespace
}  // namespace autopack::testing

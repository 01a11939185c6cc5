// Must show (issue 9, point 2): every server checks who calls, against real
// processes over TLS sockets: no token, a wrong token, a token without the
// right, another caller's run, admin, health open; and a whole run succeeds
// with tokens and TLS between all four services, with the Supervisor known to
// its peers by its token or by its client certificate alone.
#include <memory>
#include <string>
#include <vector>

#include "autopack/v1/builder.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/suite.h"

namespace autopack::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<grpc::Channel> ChannelAs(const Suite& suite, const ServerProcess& process,
                                         const std::string& caller) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateClientChannel(suite.ClientFor(process, caller));
  EXPECT_TRUE(channel.ok()) << channel.status();
  return *channel;
}

void Deadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
}

grpc::Status Health(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  Deadline(&context);
  grpc::health::v1::HealthCheckResponse response;
  return grpc::health::v1::Health::NewStub(channel)->Check(
      &context, grpc::health::v1::HealthCheckRequest(), &response);
}

grpc::Status CreateRun(v1::SupervisorService::Stub* stub, const v1::RunSpec& spec,
                       v1::CreateRunResponse* response = nullptr) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::CreateRunRequest request;
  *request.mutable_spec() = spec;
  v1::CreateRunResponse ignored;
  return stub->CreateRun(&context, request, response != nullptr ? response : &ignored);
}

grpc::Status GetRun(v1::SupervisorService::Stub* stub, const std::string& run_id,
                    v1::Run* run = nullptr) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::Run ignored;
  return stub->GetRun(&context, request, run != nullptr ? run : &ignored);
}

grpc::Status CancelRun(v1::SupervisorService::Stub* stub, const std::string& run_id) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::CancelRunRequest request;
  request.set_run_id(run_id);
  v1::Run run;
  return stub->CancelRun(&context, request, &run);
}

absl::StatusOr<std::vector<std::string>> ListRunIds(v1::SupervisorService::Stub* stub) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::ListRunsResponse response;
  const grpc::Status status = stub->ListRuns(&context, v1::ListRunsRequest(), &response);
  if (!status.ok()) return absl::InternalError(status.error_message());
  std::vector<std::string> ids;
  for (const v1::Run& run : response.runs()) ids.push_back(run.run_id());
  return ids;
}

// Reads a WatchRun stream to its end; its final status.
grpc::Status Watch(v1::SupervisorService::Stub* stub, const std::string& run_id) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::WatchRunRequest request;
  request.set_run_id(run_id);
  auto reader = stub->WatchRun(&context, request);
  v1::RunEvent event;
  while (reader->Read(&event)) {
  }
  return reader->Finish();
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto suite = Suite::Start("auth", NotesAnswers(2));
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    auto repo = suite_->MakeRepo("repo");
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = new std::string(*repo);
  }
  static void TearDownTestSuite() {
    delete suite_;
    delete repo_;
  }
  // A Supervisor that accepts runs but never drives them, so that every run
  // stays cancellable for as long as a test needs.
  absl::StatusOr<std::unique_ptr<ServerProcess>> IdleSupervisor(const std::string& name) {
    return suite_->StartSupervisor("sqlite:" + suite_->dir() + "/" + name + ".db",
                                   {"--max_concurrent_runs=0"});
  }
  static Suite* suite_;
  static std::string* repo_;
};
Suite* AuthTest::suite_ = nullptr;
std::string* AuthTest::repo_ = nullptr;

TEST_F(AuthTest, HealthIsOpenWithoutATokenOnEveryServer) {
  auto supervisor = IdleSupervisor("health");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  grpc::Status status = Health(ChannelAs(*suite_, **supervisor, ""));
  EXPECT_TRUE(status.ok()) << status.error_message();
  // The peers still want the client certificate for the TLS handshake.
  for (const ServerProcess* peer : {&suite_->builder(), &suite_->auditor(), &suite_->git()}) {
    ClientOptions options = suite_->ClientFor(*peer, "");
    options.tls_cert_file = suite_->pki("supervisor.pem");
    options.tls_key_file = suite_->pki("supervisor.key");
    auto channel = CreateClientChannel(options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    status = Health(*channel);
    EXPECT_TRUE(status.ok()) << peer->address() << ": " << status.error_message();
  }
}

TEST_F(AuthTest, NoTokenOrAWrongTokenIsUnauthenticated) {
  auto supervisor = IdleSupervisor("unauthenticated");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  const v1::RunSpec spec = NotesSpec("never", *repo_, 1, 1);

  grpc::Status none = CreateRun(suite_->SupervisorStub(**supervisor, "").get(), spec);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << none.error_message();
  EXPECT_THAT(none.error_message(), HasSubstr("CreateRun"));

  ClientOptions wrong = suite_->ClientFor(**supervisor, "");
  wrong.bearer_token = suite_->Token("alice") + "x";
  auto channel = CreateClientChannel(wrong);
  ASSERT_TRUE(channel.ok());
  auto stub = v1::SupervisorService::NewStub(*channel);
  grpc::Status bad = GetRun(stub.get(), "never");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::UNAUTHENTICATED) << bad.error_message();
  EXPECT_THAT(bad.error_message(), Not(HasSubstr(wrong.bearer_token)));
  EXPECT_FALSE(ListRunIds(stub.get()).ok());

  // Reflection needs a caller too, but no particular right.
  auto reflect = [&](const std::string& caller) {
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(
        ChannelAs(*suite_, **supervisor, caller));
    grpc::ClientContext context;
    Deadline(&context);
    auto streamer = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    streamer->Write(request);
    streamer->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    while (streamer->Read(&response)) {
    }
    return streamer->Finish();
  };
  EXPECT_EQ(reflect("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status with_token = reflect("reader");
  EXPECT_TRUE(with_token.ok()) << with_token.error_message();
}

TEST_F(AuthTest, ATokenWithoutTheRightIsPermissionDenied) {
  auto supervisor = IdleSupervisor("rights");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  grpc::Status status =
      CreateRun(suite_->SupervisorStub(**supervisor, "reader").get(),
                NotesSpec("by-reader", *repo_, 1, 1));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("/autopack.v1.SupervisorService/CreateRun"), HasSubstr("'submit'"),
                    HasSubstr("'reader'")));
  // A user's token, even admin's, does not open the Supervisor's peers.
  for (const std::string caller : {"alice", "admin"}) {
    ClientOptions options = suite_->ClientFor(suite_->builder(), caller);
    options.tls_cert_file = suite_->pki("supervisor.pem");
    options.tls_key_file = suite_->pki("supervisor.key");
    auto channel = CreateClientChannel(options);
    ASSERT_TRUE(channel.ok());
    grpc::ClientContext context;
    Deadline(&context);
    v1::GeneratePatchResponse response;
    status = v1::BuilderService::NewStub(*channel)->GeneratePatch(
        &context, v1::GeneratePatchRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << caller;
    EXPECT_THAT(status.error_message(), HasSubstr("'service'")) << caller;
  }
}

TEST_F(AuthTest, RunsBelongToTheirCreatorAndAdminSeesAll) {
  auto supervisor = IdleSupervisor("owners");
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  auto alice = suite_->SupervisorStub(**supervisor, "alice");
  auto bob = suite_->SupervisorStub(**supervisor, "bob");
  auto admin = suite_->SupervisorStub(**supervisor, "admin");
  const v1::RunSpec alices_spec = NotesSpec("alices-run", *repo_, 1, 1);
  v1::CreateRunResponse created;
  grpc::Status status = CreateRun(alice.get(), alices_spec, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.run().created_by(), "alice");
  ASSERT_TRUE(CreateRun(bob.get(), NotesSpec("bobs-run", *repo_, 1, 1)).ok());

  // Bob can neither read, watch, meter, list nor cancel Alice's run.
  status = GetRun(bob.get(), "alices-run");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr("alices-run"), Not(HasSubstr("alice'"))));
  EXPECT_EQ(Watch(bob.get(), "alices-run").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::GetUsageRequest request;
    request.set_run_id("alices-run");
    v1::UsageReport report;
    EXPECT_EQ(bob->GetUsage(&context, request, &report).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::ListIssuesRequest request;
    request.set_run_id("alices-run");
    v1::ListIssuesResponse response;
    EXPECT_EQ(bob->ListIssues(&context, request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(CancelRun(bob.get(), "alices-run").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Retrying Alice's exact request does not hand Bob her run either.
  status = CreateRun(bob.get(), alices_spec);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();

  auto listed = ListRunIds(bob.get());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(*listed, std::vector<std::string>{"bobs-run"});
  listed = ListRunIds(alice.get());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(*listed, std::vector<std::string>{"alices-run"});

  // Alice may do all of it to her own run; the admin to anyone's.
  v1::Run run;
  ASSERT_TRUE(GetRun(alice.get(), "alices-run", &run).ok());
  EXPECT_EQ(run.created_by(), "alice");
  ASSERT_TRUE(GetRun(admin.get(), "bobs-run", &run).ok());
  EXPECT_EQ(run.created_by(), "bob");
  listed = ListRunIds(admin.get());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(*listed, AllOf(Contains("alices-run"), Contains("bobs-run")));
  // A project's backlog: for admins and callers with a run in the project.
  auto backlog = [&](v1::SupervisorService::Stub* stub) {
    grpc::ClientContext context;
    Deadline(&context);
    v1::ListIssuesRequest request;
    request.set_project_id("notes");
    v1::ListIssuesResponse response;
    return stub->ListIssues(&context, request, &response).error_code();
  };
  EXPECT_EQ(backlog(suite_->SupervisorStub(**supervisor, "reader").get()),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(backlog(bob.get()), grpc::StatusCode::OK);
  EXPECT_EQ(backlog(admin.get()), grpc::StatusCode::OK);

  status = CancelRun(admin.get(), "bobs-run");
  EXPECT_TRUE(status.ok()) << status.error_message();
  status = CancelRun(alice.get(), "alices-run");
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The whole suite over TLS with tokens; the second Supervisor sends no token,
// so its peers know it by its client certificate only.
TEST_F(AuthTest, RunsSucceedWithTlsAndTokensOrCertificateIdentityBetweenAllServices) {
  for (const bool with_token : {true, false}) {
    const std::string run_id = with_token ? "secure-token" : "secure-cert";
    std::vector<std::string> extra;
    if (!with_token) extra.push_back("--peer_token_file=");
    auto supervisor =
        suite_->StartSupervisor("sqlite:" + suite_->dir() + "/" + run_id + ".db", extra);
    ASSERT_TRUE(supervisor.ok()) << supervisor.status();
    auto stub = suite_->SupervisorStub(**supervisor, "alice");
    grpc::Status status = CreateRun(stub.get(), NotesSpec(run_id, *repo_, 1, 2));
    ASSERT_TRUE(status.ok()) << status.error_message();
    status = Watch(stub.get(), run_id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    auto run = WaitForRunEnd(stub.get(), run_id, absl::Seconds(90));
    ASSERT_TRUE(run.ok()) << run.status() << (*supervisor)->Log();
    EXPECT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS)
        << run->state_reason() << (*supervisor)->Log();
    auto subjects = CommitSubjects(suite_->workspace_root() + "/" + run_id + "/repo");
    ASSERT_TRUE(subjects.ok()) << subjects.status();
    EXPECT_EQ(subjects->size(), 2u);
  }
}

}  // namespace
}  // namespace autopack::testing

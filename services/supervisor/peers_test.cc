#include "services/supervisor/peers.h"

#include <vector>

#include "autopack/v1/auditor_mock.grpc.pb.h"
#include "autopack/v1/builder_mock.grpc.pb.h"
#include "autopack/v1/gitadapter_mock.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::supervisor {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

class PeersTest : public ::testing::Test {
 protected:
  PeersTest()
      : builder_(std::make_shared<v1::MockBuilderServiceStub>()),
        auditor_(std::make_shared<v1::MockAuditorServiceStub>()),
        git_(std::make_shared<v1::MockGitAdapterServiceStub>()) {
    options_.sleep = [this](absl::Duration d) { sleeps_.push_back(d); };
  }
  Peers Make() { return Peers(builder_, auditor_, git_, options_); }

  std::shared_ptr<v1::MockBuilderServiceStub> builder_;
  std::shared_ptr<v1::MockAuditorServiceStub> auditor_;
  std::shared_ptr<v1::MockGitAdapterServiceStub> git_;
  PeerOptions options_;
  std::vector<absl::Duration> sleeps_;
};

TEST_F(PeersTest, UnavailableIsRetriedWithGrowingBackoffThenSucceeds) {
  EXPECT_CALL(*builder_, GeneratePatch(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")))
      .WillOnce(Invoke([](grpc::ClientContext*, const v1::GeneratePatchRequest&,
                          v1::GeneratePatchResponse* out) {
        out->set_summary("ok");
        return grpc::Status::OK;
      }));
  auto result = Make().GeneratePatch({"r1", "p1"}, v1::GeneratePatchRequest());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->summary(), "ok");
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0], absl::Milliseconds(100));
  EXPECT_LE(sleeps_[0], absl::Milliseconds(200));
  EXPECT_GE(sleeps_[1], absl::Milliseconds(200));
  EXPECT_LE(sleeps_[1], absl::Milliseconds(400));
}

TEST_F(PeersTest, UnavailableRetriesAreBounded) {
  options_.unavailable_retry.max_retries = 2;
  EXPECT_CALL(*auditor_, ReviewPatch(_, _, _))
      .Times(3)
      .WillRepeatedly(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  EXPECT_THAT(Make().ReviewPatch({"r1", "p1"}, v1::ReviewPatchRequest()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("Auditor.ReviewPatch: down")));
}

TEST_F(PeersTest, OtherErrorsAreNotRetriedAndKeepTheirCode) {
  EXPECT_CALL(*git_, ApplyPatch(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a.py hunk 2")));
  EXPECT_THAT(Make().ApplyPatch({"r1", "p1"}, v1::ApplyPatchRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("GitAdapter.ApplyPatch: a.py hunk 2")));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(PeersTest, CallsCarryRunAndPhaseIdsAndADeadline) {
  options_.git_deadline = absl::Seconds(7);
  EXPECT_CALL(*git_, ReadFiles(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext* context, const v1::ReadFilesRequest&,
                          v1::ReadFilesResponse*) {
        const absl::Duration left =
            absl::FromChrono(context->deadline()) - absl::Now();
        EXPECT_GT(left, absl::Seconds(5));
        EXPECT_LE(left, absl::Seconds(7));
        return grpc::Status::OK;
      }));
  EXPECT_THAT(Make().ReadFiles({"run-9", "p3"}, v1::ReadFilesRequest()), IsOk());
}

TEST_F(PeersTest, RunChecksDeadlineCoversTheCheckTimeLimit) {
  EXPECT_CALL(*git_, RunChecks(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext* context, const v1::RunChecksRequest&,
                          v1::RunChecksResponse*) {
        const absl::Duration left = absl::FromChrono(context->deadline()) - absl::Now();
        EXPECT_GT(left, absl::Seconds(600));
        return grpc::Status::OK;
      }));
  v1::RunChecksRequest request;
  request.mutable_timeout()->set_seconds(600);
  EXPECT_THAT(Make().RunChecks({"r", "p"}, request), IsOk());
}

}  // namespace
}  // namespace autopack::supervisor

#include "services/common/auth.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/sha256.h"
#include "services/common/status_matchers.h"

namespace autopack {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kAdminToken[] = "admin.token~with+all/chars==";

std::string CallersYaml() {
  return absl::StrCat("callers:\n"
                      "  - name: alice\n"
                      "    token_sha256: ", Sha256Hex(kAliceToken), "\n"
                      "    rights: [submit, read]\n"
                      "  - name: root@ops\n"
                      "    token_sha256: ", absl::AsciiStrToUpper(Sha256Hex(kAdminToken)), "\n"
                      "    rights: [admin]\n"
                      "  - name: supervisor\n"
                      "    cert_names: [supervisor.internal, spiffe://autopack/supervisor]\n"
                      "    rights: [service]\n");
}

std::unique_ptr<Authenticator> Callers() {
  auto auth = Authenticator::Parse(CallersYaml(), "callers.yaml");
  EXPECT_THAT(auth, IsOk());
  return auth.ok() ? std::move(*auth) : nullptr;
}

absl::StatusOr<Caller> WithHeader(const Authenticator& auth, absl::string_view header) {
  return auth.Authenticate({header}, {});
}

TEST(RightTest, NamesRoundTripAndUnknownIsRejected) {
  for (Right right : {Right::kSubmit, Right::kRead, Right::kCancel, Right::kAdmin,
                      Right::kService}) {
    EXPECT_THAT(ParseRight(RightName(right)), IsOkAndHolds(right));
  }
  EXPECT_THAT(ParseRight("write"), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("'write'")));
}

TEST(CallerTest, AdminImpliesUserRightsButNotService) {
  Caller admin{"root", static_cast<uint32_t>(Right::kAdmin)};
  EXPECT_TRUE(admin.Has(Right::kSubmit));
  EXPECT_TRUE(admin.Has(Right::kRead));
  EXPECT_TRUE(admin.Has(Right::kCancel));
  EXPECT_FALSE(admin.Has(Right::kService));
  EXPECT_TRUE(admin.MayAccess("someone-else"));

  Caller reader{"bob", static_cast<uint32_t>(Right::kRead)};
  EXPECT_TRUE(reader.Has(Right::kRead));
  EXPECT_FALSE(reader.Has(Right::kCancel));
  EXPECT_TRUE(reader.MayAccess("bob"));
  EXPECT_FALSE(reader.MayAccess("alice"));
  EXPECT_FALSE(reader.MayAccess(""));

  const Caller off = Caller::AuthenticationOff();
  EXPECT_TRUE(off.Has(Right::kService));
  EXPECT_TRUE(off.MayAccess("anyone"));

  // A Caller nobody filled in holds nothing, not even unowned runs.
  const Caller nobody;
  EXPECT_FALSE(nobody.Has(Right::kRead));
  EXPECT_FALSE(nobody.MayAccess(""));
}

TEST(AuthenticatorTest, KnownTokenIdentifiesItsCaller) {
  auto auth = Callers();
  absl::StatusOr<Caller> alice = WithHeader(*auth, absl::StrCat("Bearer ", kAliceToken));
  ASSERT_THAT(alice, IsOk());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_FALSE(alice->authentication_off);
  EXPECT_TRUE(alice->Has(Right::kSubmit));
  EXPECT_FALSE(alice->Has(Right::kCancel));
  // Upper-case hex in the file, every b64token character in the token.
  absl::StatusOr<Caller> admin = WithHeader(*auth, absl::StrCat("Bearer ", kAdminToken));
  ASSERT_THAT(admin, IsOk());
  EXPECT_EQ(admin->name, "root@ops");
}

TEST(AuthenticatorTest, SchemeIsCaseInsensitiveAndSpacingTolerated) {
  auto auth = Callers();
  for (const std::string& header :
       {absl::StrCat("bearer ", kAliceToken), absl::StrCat("BEARER ", kAliceToken),
        absl::StrCat("Bearer   ", kAliceToken, " "), absl::StrCat("Bearer\t", kAliceToken)}) {
    EXPECT_THAT(WithHeader(*auth, header), IsOk()) << header;
  }
}

TEST(AuthenticatorTest, BadCredentialsAreUnauthenticatedAndNeverEchoTheToken) {
  auto auth = Callers();
  const std::string wrong = "wrong-token-that-must-not-appear";
  const std::vector<std::string> bad = {
      absl::StrCat("Bearer ", wrong),
      absl::StrCat("Basic ", wrong),
      absl::StrCat("Bearer", wrong),
      "Bearer ",
      "Bearer",
      "",
      absl::StrCat(kAliceToken),
      absl::StrCat("Bearer ", kAliceToken, "x"),
      absl::StrCat("Bearer ", kAliceToken, " extra"),
      absl::StrCat("Bearer ", wrong, std::string(1, '\0')),
      absl::StrCat("Bearer ", std::string(100000, 'a')),
      absl::StrCat("Bearer ", Sha256Hex(kAliceToken)),  // the hash is not the token
  };
  for (const std::string& header : bad) {
    absl::StatusOr<Caller> caller = WithHeader(*auth, header);
    EXPECT_THAT(caller, StatusIs(absl::StatusCode::kUnauthenticated,
                                 Not(HasSubstr("must-not-appear"))))
        << header.substr(0, 80);
    if (!caller.ok()) {
      EXPECT_LT(caller.status().message().size(), 200u);
    }
  }
}

TEST(AuthenticatorTest, NoCredentialsAndSeveralHeadersAreUnauthenticated) {
  auto auth = Callers();
  EXPECT_THAT(auth->Authenticate({}, {}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("Bearer <token>")));
  const std::string good = absl::StrCat("Bearer ", kAliceToken);
  EXPECT_THAT(auth->Authenticate({good, good}, {}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("more than one")));
}

TEST(AuthenticatorTest, CertificateNamesMapToCallers) {
  auto auth = Callers();
  absl::StatusOr<Caller> by_san = auth->Authenticate({}, {"other-cn", "supervisor.internal"});
  ASSERT_THAT(by_san, IsOk());
  EXPECT_EQ(by_san->name, "supervisor");
  EXPECT_TRUE(by_san->Has(Right::kService));
  EXPECT_THAT(auth->Authenticate({}, {"spiffe://autopack/supervisor"}), IsOk());
  // A certificate the CA signed is not enough: its name must be a caller.
  EXPECT_THAT(auth->Authenticate({}, {"autopack-client"}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("autopack-client")));
  // A token wins over the certificate, and a bad one is not excused by it.
  absl::StatusOr<Caller> token_first =
      auth->Authenticate({absl::StrCat("Bearer ", kAliceToken)}, {"supervisor.internal"});
  ASSERT_THAT(token_first, IsOk());
  EXPECT_EQ(token_first->name, "alice");
  EXPECT_THAT(auth->Authenticate({"Bearer nope"}, {"supervisor.internal"}),
              StatusHasCode(absl::StatusCode::kUnauthenticated));
}

TEST(AuthenticatorTest, MalformedFilesNameTheProblem) {
  const std::string hash = Sha256Hex("t");
  struct Case {
    std::string yaml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"callers: []\n", "no callers"},
      {"tokens: []\n", "tokens"},
      {absl::StrCat("callers:\n  - name: a\n    token_sha256: ", hash, "\n    rights: [write]\n"),
       "'write'"},
      {absl::StrCat("callers:\n  - name: a\n    token_sha256: ", hash, "\n    rights: []\n"),
       "no rights"},
      {"callers:\n  - name: a\n    token_sha256: not-a-hash\n    rights: [read]\n",
       "64 hex digits"},
      {"callers:\n  - name: a\n    rights: [read]\n", "needs token_sha256 or cert_names"},
      {absl::StrCat("callers:\n  - name: 'a b'\n    token_sha256: ", hash,
                    "\n    rights: [read]\n"),
       "name 'a b'"},
      {absl::StrCat("callers:\n  - name: a\n    token_sha256: ", hash,
                    "\n    rights: [read]\n  - name: a\n    token_sha256: ", Sha256Hex("u"),
                    "\n    rights: [read]\n"),
       "listed twice"},
      {absl::StrCat("callers:\n  - name: a\n    token_sha256: ", hash,
                    "\n    rights: [read]\n  - name: b\n    token_sha256: ", hash,
                    "\n    rights: [read]\n"),
       "same token"},
      {"callers:\n  - name: a\n    cert_names: [x]\n    rights: [read]\n"
       "  - name: b\n    cert_names: [x]\n    rights: [read]\n",
       "'x'"},
      {absl::StrCat("callers:\n  - name: a\n    token: ", hash, "\n    rights: [read]\n"),
       "token"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Authenticator::Parse(c.yaml, "callers.yaml"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("callers.yaml:"), HasSubstr(c.message))))
        << c.yaml;
  }
  EXPECT_THAT(Authenticator::LoadFile("/nonexistent/callers.yaml"),
              StatusHasCode(absl::StatusCode::kNotFound));
}

AccessPolicy Policy() {
  AccessPolicy policy{std::shared_ptr<const Authenticator>(Callers())};
  policy.AddService("autopack.v1.SupervisorService",
                    {{"CreateRun", Right::kSubmit}, {"CancelRun", Right::kCancel}});
  policy.AddService("autopack.v1.BuilderService", MethodRights::Every(Right::kService));
  return policy;
}

TEST(AccessPolicyTest, HealthIsOpenReflectionNeedsAnyCaller) {
  AccessPolicy policy = Policy();
  EXPECT_THAT(policy.Check("/grpc.health.v1.Health/Check", {}, {}), IsOk());
  EXPECT_THAT(policy.Check("/grpc.health.v1.Health/Watch", {}, {}), IsOk());
  EXPECT_THAT(
      policy.Check("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", {}, {}),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("ServerReflectionInfo")));
  const std::string alice = absl::StrCat("Bearer ", kAliceToken);
  EXPECT_THAT(policy.Check("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                           {alice}, {}),
              IsOk());
}

TEST(AccessPolicyTest, MissingRightIsPermissionDeniedNamingMethodAndRight) {
  AccessPolicy policy = Policy();
  const std::string alice = absl::StrCat("Bearer ", kAliceToken);
  absl::StatusOr<Caller> created =
      policy.Check("/autopack.v1.SupervisorService/CreateRun", {alice}, {});
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->name, "alice");
  EXPECT_THAT(policy.Check("/autopack.v1.SupervisorService/CancelRun", {alice}, {}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("/autopack.v1.SupervisorService/CancelRun"),
                             HasSubstr("'cancel'"), HasSubstr("'alice'"),
                             Not(HasSubstr(kAliceToken)))));
  const std::string admin = absl::StrCat("Bearer ", kAdminToken);
  EXPECT_THAT(policy.Check("/autopack.v1.SupervisorService/CancelRun", {admin}, {}), IsOk());
  EXPECT_THAT(policy.Check("/autopack.v1.BuilderService/GeneratePatch", {admin}, {}),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("'service'")));
  EXPECT_THAT(policy.Check("/autopack.v1.BuilderService/GeneratePatch", {},
                           {"supervisor.internal"}),
              IsOk());
}

TEST(AccessPolicyTest, UnlistedMethodsAndServicesAreDenied) {
  AccessPolicy policy = Policy();
  const std::string admin = absl::StrCat("Bearer ", kAdminToken);
  EXPECT_THAT(policy.Check("/autopack.v1.SupervisorService/NewRpc", {admin}, {}),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no right")));
  EXPECT_THAT(policy.Check("/other.Service/CreateRun", {admin}, {}),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(policy.Check("nonsense", {admin}, {}),
              StatusHasCode(absl::StatusCode::kPermissionDenied));
  // Unauthenticated wins over unknown, so probing reveals nothing.
  EXPECT_THAT(policy.Check("/autopack.v1.SupervisorService/NewRpc", {}, {}),
              StatusHasCode(absl::StatusCode::kUnauthenticated));
  const std::string long_path = "/" + std::string(100000, 'x');
  absl::StatusOr<Caller> cut = policy.Check(long_path, {admin}, {});
  ASSERT_FALSE(cut.ok());
  EXPECT_LT(cut.status().message().size(), 400u);
}

TEST(NewTokenTest, TokensAreLongDistinctAndValidBearerTokens) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::string> token = NewToken();
    ASSERT_THAT(token, IsOk());
    EXPECT_EQ(token->size(), 43u);
    seen.insert(*token);
    const std::string yaml = absl::StrCat("callers:\n  - name: n\n    token_sha256: ",
                                          Sha256Hex(*token), "\n    rights: [read]\n");
    auto auth = Authenticator::Parse(yaml, "t.yaml");
    ASSERT_THAT(auth, IsOk());
    EXPECT_THAT((*auth)->Authenticate({absl::StrCat("Bearer ", *token)}, {}), IsOk());
  }
  EXPECT_EQ(seen.size(), 20u);
}

}  // namespace
}  // namespace autopack

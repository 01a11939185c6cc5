#include "services/supervisor/run_spec.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::supervisor {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

v1::RunSpec Parse(const std::string& text) {
  v1::RunSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  return spec;
}

constexpr char kValid[] = R"pb(
  run_id: "run-1"
  repo_url: "file:///srv/repo"
  check_command: "python3 -m pytest -q"
  budget { max_cost_micro_usd: 5000000 }
  tiers {
    tier_id: "t1"
    phases {
      phase_id: "p1"
      name: "add greet"
      description: "Add greet(name)."
      task_category: "feature_scaffolding"
      complexity: COMPLEXITY_LOW
      allowed_paths: "src/**"
    }
  }
  tiers {
    tier_id: "t2"
    phases {
      phase_id: "p2"
      name: "docs"
      description: "Document greet."
      complexity: COMPLEXITY_MEDIUM
    }
  }
)pb";

TEST(RunSpecTest, ValidSpecPasses) { EXPECT_THAT(ValidateRunSpec(Parse(kValid)), IsOk()); }

TEST(RunSpecTest, MissingComplexityNamesTheFieldPath) {
  v1::RunSpec spec = Parse(kValid);
  spec.mutable_tiers(1)->mutable_phases(0)->clear_complexity();
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiers[1].phases[0].complexity: must be set")));
}

TEST(RunSpecTest, EveryProblemIsListed) {
  v1::RunSpec spec = Parse(kValid);
  spec.clear_repo_url();
  spec.mutable_budget()->set_max_tokens(-1);
  spec.mutable_tiers(1)->set_tier_id("t1");
  spec.mutable_tiers(1)->mutable_phases(0)->set_phase_id("p1");
  spec.mutable_tiers(0)->mutable_phases(0)->add_allowed_paths("../etc");
  spec.mutable_tiers(0)->mutable_phases(0)->mutable_budget()->set_max_cost_micro_usd(-5);
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("repo_url: must name"),
                             HasSubstr("budget.max_tokens: must not be negative"),
                             HasSubstr("tiers[1].tier_id: \"t1\" is used by another tier"),
                             HasSubstr("tiers[1].phases[0].phase_id: \"p1\" is used"),
                             HasSubstr("tiers[0].phases[0].allowed_paths[1]: must not "
                                       "contain '..'"),
                             HasSubstr("tiers[0].phases[0].budget.max_cost_micro_usd"))));
}

TEST(RunSpecTest, IdsMustBeSafeInBranchNames) {
  v1::RunSpec spec = Parse(kValid);
  spec.set_run_id("../x");
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run_id: \"../x\"")));
  EXPECT_TRUE(IsValidId("run_2026-11-23.a"));
  EXPECT_FALSE(IsValidId("-x"));
  EXPECT_FALSE(IsValidId("a b"));
  EXPECT_FALSE(IsValidId(std::string(65, 'a')));
}

TEST(RunSpecTest, EmptyPlanAndMissingCheckCommandAreRejected) {
  v1::RunSpec spec = Parse(kValid);
  spec.clear_tiers();
  spec.clear_check_command();
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tiers: must hold at least one tier"),
                             HasSubstr("check_command: must be set"))));
  spec = Parse(kValid);
  spec.mutable_tiers(0)->clear_phases();
  EXPECT_THAT(ValidateRunSpec(spec), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("tiers[0].phases: must hold")));
}

TEST(RunSpecTest, NegativeDurationsAreRejected) {
  v1::RunSpec spec = Parse(kValid);
  spec.mutable_max_wall_time()->set_seconds(-1);
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_wall_time")));
  EXPECT_THAT(ValidateRunSpec(Parse(kValid)), Not(StatusIs(absl::StatusCode::kInvalidArgument,
                                                          HasSubstr("max_wall_time"))));
}

TEST(RunSpecTest, OversizedPlanIsRefusedByItsCounts) {
  v1::RunSpec spec = Parse(kValid);
  v1::TierSpec* tier = spec.mutable_tiers(0);
  for (int i = 0; i < 100000; ++i) {
    v1::PhaseSpec* phase = tier->add_phases();
    *phase = tier->phases(0);
    phase->set_phase_id(absl::StrCat("x", i));
  }
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiers: hold 100002 phases; at most 500 are allowed per run")));
  RunSpecLimits small;
  small.max_tiers = 1;
  EXPECT_THAT(ValidateRunSpec(Parse(kValid), small),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tiers: has 2 entries; at most 1")));
}

TEST(RunSpecTest, EnumsDurationsAndCommandsAreChecked) {
  v1::RunSpec spec = Parse(kValid);
  spec.set_safety_profile(static_cast<v1::SafetyProfile>(77));
  spec.mutable_tiers(0)->mutable_phases(0)->set_complexity(static_cast<v1::Complexity>(9));
  spec.mutable_check_timeout()->set_seconds(INT64_MAX);
  spec.mutable_max_wall_time()->set_nanos(2000000000);
  spec.set_check_command(std::string("pytest\0; rm -rf /", 18));
  spec.mutable_tiers(0)->mutable_phases(0)->set_max_attempts(1000000);
  const absl::Status status = ValidateRunSpec(spec);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("safety_profile: 77 is not a SafetyProfile value"),
                                     HasSubstr("tiers[0].phases[0].complexity: 9 is not a Complexity"),
                                     HasSubstr("check_timeout: must be at most 2h"),
                                     HasSubstr("max_wall_time: nanos must be below"),
                                     HasSubstr("check_command: must not contain NUL"),
                                     HasSubstr("tiers[0].phases[0].max_attempts: must be at most 10"))));
}

TEST(RunSpecTest, HugeIdsAreQuotedCut) {
  v1::RunSpec spec = Parse(kValid);
  spec.set_run_id(std::string(100000, 'r'));
  const absl::Status status = ValidateRunSpec(spec);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more bytes]")));
  EXPECT_LT(status.message().size(), 400u);
}

TEST(RunSpecTest, CredentialsInTheRepoUrlAreRefused) {
  v1::RunSpec spec = Parse(kValid);
  spec.set_repo_url("https://x-access-token:sk-test-123@git.example.com/o/r.git");
  const absl::Status status = ValidateRunSpec(spec);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("repo_url: must not carry a password or token")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("sk-test-123")));
}

TEST(RunSpecTest, ListsAndTextsHaveCeilings) {
  v1::RunSpec spec = Parse(kValid);
  v1::PhaseSpec* phase = spec.mutable_tiers(0)->mutable_phases(0);
  for (int i = 0; i < 101; ++i) phase->add_context_paths("src/a.py");
  phase->set_description(std::string(70000, 'd'));
  phase->set_name("two\nlines");
  (*spec.mutable_labels())["team"] = std::string(300, 'v');
  EXPECT_THAT(ValidateRunSpec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tiers[0].phases[0].context_paths: has 101 entries; at most 100"),
                             HasSubstr("tiers[0].phases[0].description: is 70000 bytes; at most 65536"),
                             HasSubstr("tiers[0].phases[0].name: must not contain control characters"),
                             HasSubstr("labels[\"team\"]: is 300 bytes"))));
}

}  // namespace
}  // namespace autopack::supervisor

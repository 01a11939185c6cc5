#include "services/supervisor/run_spec.h"

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

}  // namespace
}  // namespace autopack::supervisor

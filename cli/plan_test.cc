#include "cli/plan.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"
#include "services/supervisor/run_spec.h"

namespace autopack::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(PlanTest, ExamplePlanLoadsAndIsAValidRunSpec) {
  auto spec = LoadPlanFile("examples/hello_autopack/plan.yaml");
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->project_id(), "hello_autopack");
  EXPECT_EQ(spec->check_command(), "pytest -q");
  EXPECT_EQ(spec->check_timeout().seconds(), 120);
  EXPECT_EQ(spec->max_wall_time().seconds(), 1200);
  EXPECT_EQ(spec->budget().max_cost_micro_usd(), 3000000);
  EXPECT_EQ(spec->tiers(0).phases(0).max_attempts(), 2);
  ASSERT_EQ(spec->tiers_size(), 2);
  const v1::PhaseSpec& phase = spec->tiers(0).phases(0);
  EXPECT_EQ(phase.phase_id(), "farewell");
  EXPECT_EQ(phase.complexity(), v1::COMPLEXITY_LOW);
  EXPECT_EQ(phase.task_category(), "feature_scaffolding");
  EXPECT_EQ(phase.allowed_paths_size(), 2);
  EXPECT_EQ(spec->tiers(1).phases(0).complexity(), v1::COMPLEXITY_MEDIUM);
  // The repo is given at submission time; with it the spec must validate.
  spec->set_repo_url("/tmp/repo");
  EXPECT_THAT(supervisor::ValidateRunSpec(*spec), IsOk());
}

TEST(PlanTest, ErrorsNameFileLineAndKey) {
  auto plan = ConfigNode::Parse(
      "check_command: make test\ntiers:\n  - id: t1\n    phases:\n      - id: p1\n"
      "        description: x\n        complexity: extreme\n",
      "plan.yaml");
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(RunSpecFromPlan(*plan),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("plan.yaml:7:"), HasSubstr("tiers[0].phases[0].complexity"),
                             HasSubstr("\"extreme\""))));
}

TEST(PlanTest, TyposInKeysAreCaught) {
  auto plan = ConfigNode::Parse("check_comand: make test\ntiers: []\n", "plan.yaml");
  ASSERT_THAT(plan, IsOk());
  EXPECT_THAT(RunSpecFromPlan(*plan),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("plan.yaml:1:"), HasSubstr("'check_comand'"),
                             HasSubstr("unknown key"))));
}

TEST(PlanTest, BudgetsAreExactMicroDollars) {
  auto plan = ConfigNode::Parse(
      "check_command: make\nbudget: {max_cost_usd: 0.000001, max_tokens: 10}\ntiers: []\n",
      "plan.yaml");
  ASSERT_THAT(plan, IsOk());
  auto spec = RunSpecFromPlan(*plan);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->budget().max_cost_micro_usd(), 1);
  EXPECT_EQ(spec->budget().max_tokens(), 10);
}

TEST(PlanTest, OnBudgetExhaustedIsPauseOrFail) {
  auto fail = ConfigNode::Parse("check_command: make\non_budget_exhausted: FAIL\ntiers: []\n",
                                "plan.yaml");
  ASSERT_THAT(fail, IsOk());
  auto spec = RunSpecFromPlan(*fail);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->on_budget_exhausted(), v1::BUDGET_EXHAUSTED_ACTION_FAIL);
  auto typo = ConfigNode::Parse("check_command: make\non_budget_exhausted: STOP\ntiers: []\n",
                                "plan.yaml");
  ASSERT_THAT(typo, IsOk());
  EXPECT_THAT(RunSpecFromPlan(*typo),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("plan.yaml:2:"), HasSubstr("PAUSE or FAIL"))));
}

}  // namespace
}  // namespace autopack::cli

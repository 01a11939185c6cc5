#include "services/supervisor/policy/preview.h"

#include <string>

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

TEST(PreviewTest, WorstCasePerPhaseWithEscalation) {
  auto config = PolicyConfig::LoadDir("config");
  ASSERT_THAT(config, IsOk());
  v1::RunSpec spec;
  spec.mutable_budget()->set_max_cost_micro_usd(400000);
  spec.set_max_phases(1);
  v1::TierSpec* tier = spec.add_tiers();
  tier->set_tier_id("t1");
  v1::PhaseSpec* docs = tier->add_phases();
  docs->set_phase_id("p1");
  docs->set_task_category("docs");
  docs->set_complexity(v1::COMPLEXITY_LOW);
  v1::PhaseSpec* risky = tier->add_phases();
  risky->set_phase_id("p2");
  risky->set_task_category("security_auth_change");
  risky->set_complexity(v1::COMPLEXITY_LOW);
  risky->set_max_attempts(1);

  auto preview = PreviewRun(spec, *config);
  ASSERT_THAT(preview, IsOk());
  ASSERT_EQ(preview->phases_size(), 2);
  // docs: 2 attempts, builder gpt-4o-mini then gpt-4o; auditor gpt-4o-mini.
  // builder call 24000 in + 16000 out, auditor 32000 in + 4000 out.
  const v1::PhasePreview& p1 = preview->phases(0);
  EXPECT_EQ(p1.builder_model(), "openai/gpt-4o-mini");
  EXPECT_EQ(p1.auditor_model(), "openai/gpt-4o-mini");
  EXPECT_EQ(p1.max_attempts(), 2);
  EXPECT_EQ(p1.worst_case_tokens(), 2 * (24000 + 16000 + 32000 + 4000));
  const int64_t mini_builder = 3600 + 9600, mini_auditor = 4800 + 2400;
  const int64_t gpt4o_builder = 60000 + 160000;
  EXPECT_EQ(p1.worst_case_micro_usd(), mini_builder + mini_auditor + gpt4o_builder + mini_auditor);
  // docs' phase token cap is 80000 < 152000.
  EXPECT_FALSE(p1.fits_budget());
  // security: builder gpt-4-turbo, asked for its maximum of 4096 output tokens,
  // not models.yaml's 16000: (240000 + 122880); auditor gpt-4o (80000 + 40000).
  const v1::PhasePreview& p2 = preview->phases(1);
  EXPECT_EQ(p2.builder_model(), "openai/gpt-4-turbo");
  EXPECT_EQ(p2.auditor_model(), "openai/gpt-4o");
  EXPECT_EQ(p2.worst_case_tokens(), 24000 + 4096 + 32000 + 4000);
  EXPECT_EQ(p2.worst_case_micro_usd(), 362880 + 120000);
  EXPECT_FALSE(p2.fits_budget());  // the run cap is 400000
  EXPECT_THAT(p2.rationale(), HasSubstr("high-risk"));
  EXPECT_EQ(preview->total_worst_case_micro_usd(),
            p1.worst_case_micro_usd() + p2.worst_case_micro_usd());
  EXPECT_THAT(preview->warnings(), Contains(HasSubstr("phase p1: worst case 152000 tokens")));
  EXPECT_THAT(preview->warnings(), Contains(HasSubstr("run: worst case")));
  EXPECT_THAT(preview->warnings(), Contains(HasSubstr("max_phases is 1")));
  EXPECT_THAT(preview->warnings(), Contains(HasSubstr("not auto-applied")));
}

TEST(PreviewTest, PhaseThatCannotFitAContextWindowIsRefusedWithTheNumbers) {
  auto config = PolicyConfig::LoadDir("config");
  ASSERT_THAT(config, IsOk());
  v1::RunSpec spec;
  v1::PhaseSpec* phase = spec.add_tiers()->add_phases();
  phase->set_phase_id("p1");
  phase->set_task_category("tests");
  phase->set_complexity(v1::COMPLEXITY_LOW);
  EXPECT_THAT(CheckContextWindows(spec, *config), IsOk());
  // gpt-4o-mini's window is 128000: 24000 context + 16000 output leave 88000
  // tokens for the phase's own text.
  phase->set_description(std::string(100000, 'x'));
  EXPECT_THAT(CheckContextWindows(spec, *config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tiers[0].phases[0] (phase 'p1')"),
                             HasSubstr("builder call on openai/gpt-4o-mini needs up to"),
                             HasSubstr("24000 estimated context"), HasSubstr("16000 output"),
                             HasSubstr("context window is 128000"))));
}

TEST(PreviewTest, RejectsBadSpecsNamingTheField) {
  auto config = PolicyConfig::LoadDir("config");
  ASSERT_THAT(config, IsOk());
  v1::RunSpec spec;
  v1::PhaseSpec* phase = spec.add_tiers()->add_phases();
  phase->set_phase_id("p1");
  EXPECT_THAT(PreviewRun(spec, *config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiers[0].phases[0]: complexity must be")));
}

}  // namespace
}  // namespace autopack::policy

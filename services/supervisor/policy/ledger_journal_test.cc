#include "services/supervisor/policy/ledger_journal.h"

#include "gtest/gtest.h"
#include "services/common/status_matchers.h"

namespace autopack::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

LedgerEntry Entry(const std::string& run, int64_t sequence) {
  LedgerEntry entry;
  entry.run_id = run;
  entry.sequence = sequence;
  entry.reservation_id = "r" + std::to_string(sequence);
  return entry;
}

TEST(InMemoryLedgerJournalTest, ReadsBackInSequenceOrderPerRun) {
  InMemoryLedgerJournal journal;
  ASSERT_THAT(journal.Append(Entry("a", 2)), IsOk());
  ASSERT_THAT(journal.Append(Entry("a", 1)), IsOk());
  ASSERT_THAT(journal.Append(Entry("b", 1)), IsOk());
  auto a = journal.ReadRun("a");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(*a, SizeIs(2));
  EXPECT_EQ((*a)[0].sequence, 1);
  EXPECT_EQ((*a)[1].sequence, 2);
  EXPECT_THAT(journal.ReadRun("nobody"), IsOkAndHolds(IsEmpty()));
}

TEST(InMemoryLedgerJournalTest, RejectsADuplicateSequence) {
  InMemoryLedgerJournal journal;
  ASSERT_THAT(journal.Append(Entry("a", 1)), IsOk());
  EXPECT_THAT(journal.Append(Entry("a", 1)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("run 'a'")));
  EXPECT_THAT(journal.Append(Entry("", 1)), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace autopack::policy

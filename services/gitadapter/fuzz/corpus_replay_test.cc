// Replays the committed fuzz corpus through the parser and applier in the
// normal (gcc) build: ok_* inputs must parse, bad_* inputs must be rejected
// with INVALID_ARGUMENT, and nothing may crash.
#include <dirent.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/files.h"
#include "services/common/patch/patch.h"
#include "services/gitadapter/hunk_applier.h"

namespace autopack::gitadapter {
namespace {

TEST(CorpusReplayTest, EveryCorpusInputBehaves) {
  const std::string dir =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"), "/services/gitadapter/fuzz/corpus");
  DIR* listing = opendir(dir.c_str());
  ASSERT_NE(listing, nullptr) << dir;
  std::vector<std::string> names;
  while (dirent* entry = readdir(listing)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(listing);
  ASSERT_GE(names.size(), 10u);
  for (const std::string& name : names) {
    absl::StatusOr<std::string> text = ReadFile(absl::StrCat(dir, "/", name));
    ASSERT_TRUE(text.ok()) << text.status();
    const absl::StatusOr<patch::Patch> patch = patch::ParsePatch(*text);
    if (absl::StartsWith(name, "ok_")) {
      ASSERT_TRUE(patch.ok()) << name << ": " << patch.status();
      EXPECT_FALSE(patch->files.empty()) << name;
      for (const patch::FilePatch& file : patch->files) ApplyHunks("", file.hunks);
    } else if (absl::StartsWith(name, "bad_")) {
      EXPECT_EQ(patch.status().code(), absl::StatusCode::kInvalidArgument) << name;
    }
  }
}

}  // namespace
}  // namespace autopack::gitadapter

#include "services/common/text.h"

#include <string>

#include "gtest/gtest.h"

namespace autopack {
namespace {

// "é" is 2 bytes, "€" 3, "😀" 4.
const std::string kMixed = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";

TEST(Utf8PrefixTest, NeverEndsInsideACharacter) {
  for (size_t max = 0; max <= kMixed.size(); ++max) {
    const std::string cut(Utf8Prefix(kMixed, max));
    EXPECT_LE(cut.size(), max);
    EXPECT_EQ(SanitizeUtf8(cut), cut) << "max=" << max;
    EXPECT_EQ(kMixed.compare(0, cut.size(), cut), 0);
  }
  EXPECT_EQ(Utf8Prefix(kMixed, 2), "a");
  EXPECT_EQ(Utf8Prefix(kMixed, 3), "a\xc3\xa9");
  EXPECT_EQ(Utf8Prefix(kMixed, 9), "a\xc3\xa9\xe2\x82\xac");
}

TEST(Utf8SuffixTest, NeverStartsInsideACharacter) {
  for (size_t max = 0; max <= kMixed.size(); ++max) {
    const std::string cut(Utf8Suffix(kMixed, max));
    EXPECT_LE(cut.size(), max);
    EXPECT_EQ(SanitizeUtf8(cut), cut) << "max=" << max;
    EXPECT_EQ(kMixed.compare(kMixed.size() - cut.size(), cut.size(), cut), 0);
  }
  EXPECT_EQ(Utf8Suffix(kMixed, 4), "z");
  EXPECT_EQ(Utf8Suffix(kMixed, 5), "\xf0\x9f\x98\x80z");
}

TEST(Utf8PrefixTest, BytesThatAreNotUtf8AreCutWhereAsked) {
  const std::string binary(10, '\x80');
  EXPECT_EQ(Utf8Prefix(binary, 4).size(), 4u);
  EXPECT_EQ(Utf8Suffix(binary, 4).size(), 4u);
}

TEST(ClipForMessageTest, SaysHowMuchWasCut) {
  EXPECT_EQ(ClipForMessage("short", 80), "short");
  const std::string id(100000, 'x');
  const std::string clipped = ClipForMessage(id, 10);
  EXPECT_EQ(clipped, "xxxxxxxxxx... [99990 more bytes]");
}

TEST(KeepTailTest, KeepsTheEnd) {
  EXPECT_EQ(KeepTail("abc", 5), "abc");
  EXPECT_EQ(KeepTail("0123456789", 3), "[... 7 bytes cut] 789");
  EXPECT_EQ(SanitizeUtf8(KeepTail(kMixed, 6)), KeepTail(kMixed, 6));
}

TEST(SanitizeUtf8Test, ReplacesInvalidBytes) {
  EXPECT_EQ(SanitizeUtf8("ok \xff\xfe end"), "ok ?? end");
  EXPECT_EQ(SanitizeUtf8(kMixed), kMixed);
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80"), "???");  // a UTF-16 surrogate
  EXPECT_EQ(SanitizeUtf8("\xc0\x80"), "??");       // overlong NUL
}

TEST(HasControlCharactersTest, FindsNulAndEscapes) {
  EXPECT_FALSE(HasControlCharacters("pytest -q\n\tmake test\r\n"));
  EXPECT_TRUE(HasControlCharacters(std::string("pytest\0 -q", 10)));
  EXPECT_TRUE(HasControlCharacters("echo \x1b[31m"));
  EXPECT_TRUE(HasControlCharacters("del\x7f"));
}

}  // namespace
}  // namespace autopack

#include "common/base/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace fedseg {
namespace {

// RFC 4648 section 10 test vectors.
const std::pair<const char*, const char*> kVectors[] = {
    {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, EncodesTheRfc4648Vectors) {
  for (const auto& [plain, encoded] : kVectors) EXPECT_EQ(Base64Encode(plain), encoded) << plain;
}

TEST(Base64Test, DecodesTheRfc4648Vectors) {
  for (const auto& [plain, encoded] : kVectors) {
    auto out = Base64Decode(encoded);
    ASSERT_TRUE(out.has_value()) << encoded;
    EXPECT_EQ(*out, plain) << encoded;
  }
}

TEST(Base64Test, RoundTripsEveryByteAndEveryLength) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (size_t n = 0; n <= all.size(); n += 1) {
    const std::string bytes = all.substr(all.size() - n);
    const std::string text = Base64Encode(bytes);
    EXPECT_EQ(text.size(), 4 * ((n + 2) / 3)) << n;
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, bytes) << n;
  }
  // Both characters beyond A-Z a-z 0-9 are the standard alphabet's + and /, not the URL-safe one.
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Decode("+/8="), std::string("\xfb\xff"));
}

TEST(Base64Test, RefusesABadLength) {
  for (const char* text : {"Z", "Zg", "Zg=", "Zm9vY", "Zm9vYmFy=", "Zm9vYg==="}) {
    EXPECT_FALSE(Base64Decode(text).has_value()) << text;
  }
}

TEST(Base64Test, RefusesCharactersOutsideTheAlphabet) {
  for (const char* text : {"Zm9*", "Zm-v", "Zm_v", "Zm9v\x80YmFy", "Zm.v", "Zg=!"}) {
    EXPECT_FALSE(Base64Decode(text).has_value()) << text;
  }
  EXPECT_FALSE(Base64Decode(std::string("Zm\0v", 4)).has_value());
}

TEST(Base64Test, RefusesWhiteSpaceAnywhere) {
  // OpenSSL's EVP_DecodeBlock alone skips leading and trailing white space; a signature has one
  // spelling, so Base64Decode must not.
  for (const char* text : {" Zm9v", "Zm9v ", "\nZm9vYmFy", "Zm9vYmFy\n", "Zm9v\nYmFy", "Zm 9vYmF",
                           "\tZm9vYmE", "Zm9vYmE=\r", "Zm8=    "}) {
    EXPECT_FALSE(Base64Decode(text).has_value()) << '"' << text << '"';
  }
}

TEST(Base64Test, RefusesMisplacedOrMissingPadding) {
  for (const char* text : {"=Zm9", "Z=m9", "Zm=v", "Zg=a", "Zm9vYg=a", "Zm9v====", "====",
                           "Zg==Zm9v", "Zm8=Zm9v", "Zm9=Zm9v", "Zm9vZg", "Zm9vZm8"}) {
    EXPECT_FALSE(Base64Decode(text).has_value()) << text;
  }
}

TEST(Base64Test, RefusesNonZeroPaddingBits) {
  // "Zg==" is 'f' (0x66): 'g' carries 4 bits that must be zero; "Zh==" decodes to 'f' as well
  // in lenient decoders. Likewise "Zm8=" versus "Zm9=" for "fo".
  for (const char* text : {"Zh==", "Zj==", "Zv==", "Zm9=", "Zm+=", "Zm9vYh==", "Zm9vYmF="}) {
    EXPECT_FALSE(Base64Decode(text).has_value()) << text;
  }
  EXPECT_TRUE(Base64Decode("Zg==").has_value());
  EXPECT_TRUE(Base64Decode("Zm8=").has_value());
}

}  // namespace
}  // namespace fedseg

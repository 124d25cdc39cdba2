/*
 * bd_json_test.cc: bd_json_append_string writes literals jansson reads back as the
 * same text; control characters, quotes and backslashes are escaped, invalid UTF-8
 * becomes U+FFFD, and runs of plain ASCII around them come out intact.
 */
#include "core/bd_json.h"

#include <gtest/gtest.h>
#include <jansson.h>

#include <string>

/* The literal written for <in>, parsed back by jansson. */
static std::string
bd_round_trip(const std::string &in, std::string *literal)
{
    literal->clear();
    bd_json_append_string(literal, in);
    json_error_t err;
    json_t *j = json_loadb(literal->data(), literal->size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    EXPECT_NE(j, nullptr) << *literal << ": " << err.text;
    std::string out = j ? std::string(json_string_value(j), json_string_length(j)) : "";
    json_decref(j);
    return out;
}

TEST(JsonTest, PlainAsciiIsCopiedAsIs)
{
    std::string lit;
    EXPECT_EQ(bd_round_trip("req-0123456789abcdef", &lit), "req-0123456789abcdef");
    EXPECT_EQ(lit, "\"req-0123456789abcdef\"");
    EXPECT_EQ(bd_round_trip("", &lit), "");
    EXPECT_EQ(lit, "\"\"");
}

TEST(JsonTest, QuotesBackslashesAndControlsAreEscaped)
{
    std::string lit;
    std::string in = std::string("a\"b\\c\nd\re\tf") + '\x01' + "g" + '\x1f' + std::string(1, '\0') + "h";
    EXPECT_EQ(bd_round_trip(in, &lit), in);
    EXPECT_EQ(lit, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\\u0000h\"");
}

TEST(JsonTest, ValidUtf8PassesThrough)
{
    std::string lit;
    std::string in = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end";
    EXPECT_EQ(bd_round_trip(in, &lit), in);
    EXPECT_EQ(lit, "\"" + in + "\"");
}

TEST(JsonTest, InvalidUtf8BecomesReplacementCharacters)
{
    std::string lit;
    /* a lone continuation byte, a truncated sequence, an overlong form, a surrogate */
    std::string in = std::string("x\x80y") + "\xe2\x82" + "z" + "\xe0\x80\x80" + "\xed\xa0\x80" + "w";
    std::string out = bd_round_trip(in, &lit);
    EXPECT_EQ(out.front(), 'x');
    EXPECT_EQ(out.back(), 'w');
    EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos);
    EXPECT_EQ(out.find('\x80'), std::string::npos) << "no raw invalid byte survives";
}

TEST(JsonTest, EveryByteValueRoundTripsOrIsReplaced)
{
    for (int c = 0; c < 256; c++) {
        std::string in = "ab" + std::string(1, (char)c) + "cd";
        std::string lit;
        std::string out = bd_round_trip(in, &lit);
        if (c < 0x80) {
            EXPECT_EQ(out, in) << "byte " << c;
        } else {
            EXPECT_EQ(out, "ab\xef\xbf\xbd" "cd") << "byte " << c;
        }
    }
}

TEST(JsonTest, AppendsToWhatIsThere)
{
    std::string lit = "{\"k\":";
    bd_json_append_string(&lit, std::string("v\"1"));
    lit.push_back('}');
    EXPECT_EQ(lit, "{\"k\":\"v\\\"1\"}");
}

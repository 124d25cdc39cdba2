/*
 * bd_json_test.cc: bd_json_append_string writes literals jansson reads back as the
 * same text; control characters, quotes and backslashes are escaped, invalid UTF-8
 * becomes U+FFFD, and runs of plain ASCII around them come out intact. And
 * bd_json_slices: large base64 media values cut out before jansson parses a text
 * and pasted back after it dumps one, giving the client's values; everything
 * else, and malformed text, left as it is.
 */
#include "core/bd_json.h"
#include "core/bd_json_slices.h"

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

/* --- bd_json_slices ----------------------------------------------------------- */

static std::string
bd_b64(size_t n, char seed)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s.push_back(alphabet[(i * 7 + (size_t)seed) % 64]);
    }
    return s;
}

/* Cut, parse the cut text with jansson, dump it, paste: the client's values. */
static std::string
bd_slices_round_trip(const std::string &json, size_t *cut, unsigned kinds = BD_JSON_SLICE_MEDIA)
{
    bd_json_slices_t s;
    *cut = bd_json_slices_cut(json.data(), json.size(), kinds, &s);
    const std::string &text = *cut ? s.text : json;
    json_t *j = json_loadb(text.data(), text.size(), 0, nullptr);
    EXPECT_NE(j, nullptr) << text.substr(0, 200);
    char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    std::string out = d ? d : "";
    free(d);
    json_decref(j);
    bd_json_slices_paste(&s, &out);
    return out;
}

static std::string
bd_canonical(const std::string &json)
{
    json_t *j = json_loadb(json.data(), json.size(), 0, nullptr);
    char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    std::string out = d ? d : "";
    free(d);
    json_decref(j);
    return out;
}

TEST(JsonSlicesTest, MediaMembersAreCutAndPastedBackInPlace)
{
    std::string a = bd_b64(5000, 1), b = bd_b64(9000, 2);
    std::string json = "{\"messages\":[{\"content\":[{\"source\":{\"data\":\"" + a +
                       "\"}},{\"image\":{\"source\":{\"bytes\" :\n \"" + b +
                       "\"}}},{\"source\":{\"data\":\"" + a + "\"}}]}]}";
    size_t cut = 0;
    EXPECT_EQ(bd_slices_round_trip(json, &cut), bd_canonical(json));
    EXPECT_EQ(cut, 3u);
    bd_json_slices_t s;
    bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_MEDIA, &s);
    EXPECT_LT(s.text.size(), 400u) << "the cut text is small";
    EXPECT_EQ(s.text.find(a), std::string::npos);
}

TEST(JsonSlicesTest, OnlyLongPlainMediaValuesAreCut)
{
    size_t cut = 0;
    std::string big = bd_b64(5000, 3);
    /* another member's name, a short value, an escape inside, a character outside
     * the alphabet, a data URL: all parsed as they are */
    for (const std::string &json : {
             "{\"text\":\"" + big + "\"}",
             "{\"data\":\"" + bd_b64(100, 4) + "\"}",
             "{\"data\":\"" + big + "\\n\"}",
             "{\"data\":\"" + big + " \"}",
             "{\"data\":\"data:image/png;base64," + big + "\"}",
             "{\"metadata\":\"" + big + "\"}",
             "[\"" + big + "\"]",
         }) {
        bd_json_slices_t s;
        EXPECT_EQ(bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_MEDIA, &s), 0u) << json.substr(0, 40);
        EXPECT_TRUE(s.text.empty());
        EXPECT_EQ(bd_slices_round_trip(json, &cut), bd_canonical(json));
    }
}

TEST(JsonSlicesTest, StringsBeforeACutAreSkippedOverEscapes)
{
    std::string big = bd_b64(6000, 5);
    std::string json = "{\"a\":\"x\\\"data\\\":\\\"y\",\"b\":\"\\\\\",\"data\":\"" + big + "\"}";
    size_t cut = 0;
    EXPECT_EQ(bd_slices_round_trip(json, &cut), bd_canonical(json));
    EXPECT_EQ(cut, 1u);
}

TEST(JsonSlicesTest, UrlSafeAlphabetAndPadding)
{
    std::string big = bd_b64(4999, 6) + "-_-_==";
    std::string json = "{\"data\":\"" + big + "\"}";
    size_t cut = 0;
    EXPECT_EQ(bd_slices_round_trip(json, &cut), bd_canonical(json));
    EXPECT_EQ(cut, 1u);
}

/* The run of letters is checked sixteen bytes at a time: every byte value, at every
 * offset of a block and in the tail after the last whole block, must decide the cut
 * exactly as the alphabet says. */
TEST(JsonSlicesTest, EveryByteAtEveryOffsetIsCheckedAgainstTheAlphabet)
{
    auto in_alphabet = [](int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=' || c == '-' || c == '_';
    };
    for (size_t len : {(size_t)4096, (size_t)4107}) {
        for (size_t at : {(size_t)0, (size_t)7, (size_t)15, (size_t)16, (size_t)4090, len - 1}) {
            for (int c = 1; c < 256; c++) {
                if (c == '"') {
                    continue;
                }
                std::string data = bd_b64(len, 8);
                data[at] = (char)c;
                std::string json = "{\"data\":\"" + data + "\"}";
                bd_json_slices_t s;
                size_t cut = bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_MEDIA, &s);
                ASSERT_EQ(cut, in_alphabet(c) ? 1u : 0u) << "byte " << c << " at " << at;
                if (cut == 1) {
                    ASSERT_EQ(s.cut[0].len, len);
                }
            }
        }
    }
}

TEST(JsonSlicesTest, MalformedTextIsLeftForTheParser)
{
    std::string big = bd_b64(5000, 7);
    for (const std::string &json : {
             "{\"data\":\"" + big,                 /* unterminated */
             "{\"data\":\"" + big + "\"",          /* no closing brace */
             "{\"data\":\"" + big + "\",]",        /* junk after it */
             std::string("{\"data\":\"\\"),        /* a lone backslash at the end */
         }) {
        bd_json_slices_t s;
        bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_MEDIA, &s);
        const std::string &text = s.cut.empty() ? json : s.text;
        EXPECT_EQ(json_loadb(text.data(), text.size(), 0, nullptr), nullptr) << json.substr(0, 30);
    }
}

TEST(JsonSlicesTest, PasteLeavesTextWithoutTokensAlone)
{
    bd_json_slices_t none;
    std::string text = "{\"a\":\"bdslice\"}";
    bd_json_slices_paste(&none, &text);
    bd_json_slices_paste(nullptr, &text);
    EXPECT_EQ(text, "{\"a\":\"bdslice\"}");
    /* a token of this process with an index the request does not have stays as it is */
    std::string big = bd_b64(5000, 8);
    std::string json = "{\"data\":\"" + big + "\"}";
    bd_json_slices_t s;
    ASSERT_EQ(bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_MEDIA, &s), 1u);
    std::string token = s.text.substr(9, 31);
    std::string other = token.substr(0, 23) + "00000007";
    std::string out = "[\"" + token + "\",\"" + other + "\"]";
    bd_json_slices_paste(&s, &out);
    EXPECT_EQ(out, "[\"" + big + "\",\"" + other + "\"]");
}

/* OpenAI's media: the base64 of a data URL is cut, its head ("data:image/png;base64,")
 * stays in the text, where the converter splits it as before. */
TEST(JsonSlicesTest, DataUrlsAreCutAfterTheirHead)
{
    std::string a = bd_b64(5000, 9), b = bd_b64(7000, 10), c = bd_b64(4096, 11);
    std::string json = "{\"messages\":[{\"content\":[{\"type\":\"image_url\",\"image_url\":"
                       "{\"url\":\"data:image/png;base64," + a + "\"}},"
                       "{\"type\":\"image_url\",\"image_url\" : \"data:image/jpeg;name=a.jpg;base64," +
                       b + "\"},{\"type\":\"file\",\"file\":{\"filename\":\"a.pdf\",\"file_data\":"
                       "\"data:application/pdf;base64," + c + "\"}}]}]}";
    size_t cut = 0;
    EXPECT_EQ(bd_slices_round_trip(json, &cut, BD_JSON_SLICE_DATA_URL), bd_canonical(json));
    EXPECT_EQ(cut, 3u);
    bd_json_slices_t s;
    ASSERT_EQ(bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_DATA_URL, &s), 3u);
    EXPECT_LT(s.text.size(), 500u) << "the cut text is small";
    EXPECT_NE(s.text.find("\"data:image/png;base64,bdslice"), std::string::npos) << s.text;
    EXPECT_NE(s.text.find("\"data:image/jpeg;name=a.jpg;base64,bdslice"), std::string::npos);
    EXPECT_EQ(s.cut[0].len, a.size());
    EXPECT_EQ(std::string(s.cut[1].at, s.cut[1].len), b);
    /* the pieces give back the client's bytes exactly */
    std::vector<struct iovec> pieces;
    bd_json_slices_pieces(&s, s.text.data(), s.text.size(), &pieces);
    std::string joined;
    for (const struct iovec &v : pieces) {
        joined.append((const char *)v.iov_base, v.iov_len);
    }
    EXPECT_EQ(joined, json);
}

TEST(JsonSlicesTest, OnlyDataUrlsOfTheKindAskedForAreCut)
{
    std::string big = bd_b64(5000, 12);
    std::string url = "{\"url\":\"data:image/png;base64," + big + "\"}";
    std::string media = "{\"data\":\"" + big + "\"}";
    bd_json_slices_t s;
    EXPECT_EQ(bd_json_slices_cut(url.data(), url.size(), BD_JSON_SLICE_MEDIA, &s), 0u);
    EXPECT_EQ(bd_json_slices_cut(media.data(), media.size(), BD_JSON_SLICE_DATA_URL, &s), 0u);
    EXPECT_EQ(bd_json_slices_cut(url.data(), url.size(), BD_JSON_SLICE_MEDIA | BD_JSON_SLICE_DATA_URL,
                                 &s), 1u);
    EXPECT_EQ(bd_json_slices_cut(media.data(), media.size(),
                                 BD_JSON_SLICE_MEDIA | BD_JSON_SLICE_DATA_URL, &s), 1u);
}

/* A head jansson would read differently from its bytes, no ";base64" before the first
 * comma, another member, a short or impure payload: parsed as they are. */
TEST(JsonSlicesTest, OnlyPlainBase64DataUrlsAreCut)
{
    std::string big = bd_b64(5000, 13);
    for (const std::string &json : {
             "{\"url\":\"data:image/png;base64\\u002c" + big + "\"}",
             "{\"url\":\"data:image\\/png;base64," + big + "\"}",
             "{\"url\":\"data:image/png," + big + "\"}",
             "{\"url\":\"data:image/png;charset=x,;base64," + big + "\"}",
             std::string("{\"url\":\"data:;base64\"}"),
             "{\"url\":\"data:image/png;base64," + bd_b64(100, 14) + "\"}",
             "{\"url\":\"data:image/png;base64," + big + "\\n\"}",
             "{\"url\":\"data:image/png;base64," + big + "%\"}",
             "{\"href\":\"data:image/png;base64," + big + "\"}",
             "{\"text\":\"data:image/png;base64," + big + "\"}",
             "{\"url\":\"https://example.com/" + big + "\"}",
             "{\"url\":\"data:" + std::string(300, 'x') + ";base64," + big + "\"}",
             "[\"data:image/png;base64," + big + "\"]",
         }) {
        bd_json_slices_t s;
        EXPECT_EQ(bd_json_slices_cut(json.data(), json.size(), BD_JSON_SLICE_DATA_URL, &s), 0u)
            << json.substr(0, 60);
        size_t cut = 0;
        EXPECT_EQ(bd_slices_round_trip(json, &cut, BD_JSON_SLICE_DATA_URL), bd_canonical(json));
    }
}

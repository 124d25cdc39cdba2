/*
 * bd_fuzz_slices.cc: fuzz target for the media cut out of a client's JSON before the
 * parse (core/bd_json_slices.h). What is cut is base64 of at least BD_JSON_SLICE_MIN
 * bytes that ends a string; the text with its tokens, put back together from its
 * pieces, is the client's text byte for byte; a text that parses still parses with its
 * tokens in it; a second cut of the text finds nothing more.
 * Byte 0 holds options (bits 0-1: the kinds of media asked for; bit 2: each of the
 * first eight '~' of the rest stands for BD_JSON_SLICE_MIN - 1 base64 letters, so that
 * short inputs reach the size where strings are cut), the rest is the JSON text.
 */
#include <jansson.h>
#include <string.h>
#include <sys/uio.h>

#include <string>
#include <vector>

#include "core/bd_json_slices.h"
#include "tests/fuzz/bd_fuzz.h"

static bool
bd_fuzz_slices_base64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("+/=-_", c) != nullptr;
}

/* At most this many '~' are stretched: an input stays small enough to run fast. */
static const int BD_FUZZ_SLICES_STRETCH_MAX = 8;

static std::string
bd_fuzz_slices_input(const uint8_t *data, size_t size, bool stretch)
{
    std::string json;
    int stretched = 0;
    for (size_t i = 0; i < size; i++) {
        if (stretch && data[i] == '~' && stretched++ < BD_FUZZ_SLICES_STRETCH_MAX) {
            json.append(BD_JSON_SLICE_MIN - 1, 'A');
        } else {
            json.push_back((char)data[i]);
        }
    }
    return json;
}

/* Every cut is a run of base64 inside the input that a quote ends. */
static void
bd_fuzz_slices_check_cuts(const std::string &json, const bd_json_slices_t &s)
{
    const char *lo = json.data(), *hi = json.data() + json.size();
    const char *after = lo; /* cuts come in order and do not overlap */
    for (const bd_json_slice_t &c : s.cut) {
        BD_FUZZ_CHECK(c.at >= after && c.at + c.len < hi, "a cut outside the input or out of order");
        BD_FUZZ_CHECK(c.len >= BD_JSON_SLICE_MIN, "a cut shorter than BD_JSON_SLICE_MIN");
        BD_FUZZ_CHECK(c.at > lo && c.at[c.len] == '"', "a cut that does not end a string");
        for (size_t i = 0; i < c.len; i++) {
            BD_FUZZ_CHECK(bd_fuzz_slices_base64((unsigned char)c.at[i]), "a cut that is not base64");
        }
        after = c.at + c.len;
    }
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    unsigned kinds = data[0] & (BD_JSON_SLICE_MEDIA | BD_JSON_SLICE_DATA_URL);
    std::string json = bd_fuzz_slices_input(data + 1, size - 1, (data[0] & 4) != 0);

    bd_json_slices_t s;
    size_t n = bd_json_slices_cut(json.data(), json.size(), kinds, &s);
    BD_FUZZ_CHECK(n == s.cut.size(), "the count is not the number of cuts");
    BD_FUZZ_CHECK((n == 0) == s.text.empty(), "a text without cuts, or cuts without a text");
    BD_FUZZ_CHECK(kinds != 0 || n == 0, "a cut when no kind was asked for");
    if (n == 0) {
        return 0;
    }
    bd_fuzz_slices_check_cuts(json, s);

    /* Pieces and paste give the client's bytes back. An input that spells the token's
     * prefix itself (which a fuzzer can learn from the comparisons) may have that
     * pasted too: the bytes are the request's own either way, so only shape is checked. */
    std::vector<struct iovec> pieces;
    bd_json_slices_pieces(&s, s.text.data(), s.text.size(), &pieces);
    std::string joined;
    for (const struct iovec &v : pieces) {
        joined.append((const char *)v.iov_base, v.iov_len);
    }
    std::string pasted = s.text;
    bd_json_slices_paste(&s, &pasted);
    BD_FUZZ_CHECK(joined == pasted, "the pieces and the paste differ");
    if (json.find("bdslice") == std::string::npos) {
        BD_FUZZ_CHECK(pasted == json, "the text put back is not the input");
    }

    /* Tokens stand inside strings: what parsed before parses now. */
    json_t *before = json_loadb(json.data(), json.size(), JSON_DECODE_ANY, nullptr);
    if (before != nullptr) {
        json_t *after = json_loadb(s.text.data(), s.text.size(), JSON_DECODE_ANY, nullptr);
        BD_FUZZ_CHECK(after != nullptr, "the text with tokens does not parse");
        json_decref(after);
        json_decref(before);
    }

    bd_json_slices_t again;
    BD_FUZZ_CHECK(bd_json_slices_cut(s.text.data(), s.text.size(), kinds, &again) == 0,
                  "a second cut found more");
    return 0;
}

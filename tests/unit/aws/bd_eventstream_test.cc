/*
 * bd_eventstream_test.cc: event-stream framing against the frames of aws-protocols.md section
 * 3.3 (produced by @smithy/eventstream-codec): decode, encode, arbitrary splits, and every
 * error path. Single-threaded; random splits use fixed seeds so runs are repeatable.
 */
#include "core/aws/bd_eventstream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>
#include <string.h>

namespace {

const char kHexA[] = "000000100000000005c248eb7d98c8ff";
const char kHexB[] = "0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936";
const char kHexC[] =
    "0000009400000057b4ab9aee0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d"
    "3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970"
    "650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b22746578"
    "74223a224869227d7d1f944657";
const char kHexD[] =
    "00000090000000618e91a9b70f3a657863657074696f6e2d747970650700137468726f74746c696e6745786365"
    "7074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d65737361"
    "67652d74797065070009657863657074696f6e7b226d657373616765223a22546f6f206d616e79207265717565"
    "737473227de67f8005";
const char kHexE[] =
    "0000005a0000004a8188a08d0d3a6d6573736167652d747970650700056572726f720b3a6572726f722d636f64"
    "6507000f496e7465726e616c4661696c7572650e3a6572726f722d6d657373616765070004626f6f6dd78e0703";
const char kHexF[] =
    "0000005e0000004e7365c254017400016601016202fe017303fed401690400011170016c05ffffffffffffff"
    "fb0179060002dead017a0700026f6b027473080000018bcfe5687b0175090123456789abcdef0123456789ab"
    "cdefba9ead8a";

std::string
Bytes(const char *hex)
{
    std::string out;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        char b[3] = {hex[i], hex[i + 1], 0};
        out.push_back((char) strtoul(b, nullptr, 16));
    }
    return out;
}

struct Msg {
    std::vector<bd_es_header_t> headers;
    std::string payload;
};

struct Sink {
    std::vector<Msg> msgs;
    size_t stop_after = 0; /* 0: never stop */
};

int
OnMessage(void *arg, const bd_es_message_t *m)
{
    Sink *s = static_cast<Sink *>(arg);
    s->msgs.push_back({m->headers, std::string((const char *) m->payload, m->payload_len)});
    return s->stop_after != 0 && s->msgs.size() >= s->stop_after;
}

bd_es_header_t
H(const char *name, int type, int64_t number, const std::string &str = "")
{
    bd_es_header_t h;
    h.name = name;
    h.type = type;
    h.number = number;
    h.str = str;
    return h;
}

bd_es_header_t
S(const char *name, const char *value)
{
    return H(name, BD_ES_STRING, 0, value);
}

std::vector<bd_es_header_t>
HeadersF()
{
    return {H("t", BD_ES_BOOL_TRUE, 1),
            H("f", BD_ES_BOOL_FALSE, 0),
            H("b", BD_ES_BYTE, -2),
            H("s", BD_ES_SHORT, -300),
            H("i", BD_ES_INT, 70000),
            H("l", BD_ES_LONG, -5),
            H("y", BD_ES_BYTES, 0, std::string("\xde\xad", 2)),
            H("z", BD_ES_STRING, 0, "ok"),
            H("ts", BD_ES_TIMESTAMP, 1700000000123LL),
            H("u", BD_ES_UUID, 0, Bytes("0123456789abcdef0123456789abcdef"))};
}

void
ExpectHeadersEq(const std::vector<bd_es_header_t> &want, const std::vector<bd_es_header_t> &got)
{
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); i++) {
        EXPECT_EQ(want[i].name, got[i].name) << i;
        EXPECT_EQ(want[i].type, got[i].type) << i;
        EXPECT_EQ(want[i].number, got[i].number) << i;
        EXPECT_EQ(want[i].str, got[i].str) << i;
    }
}

std::string
AllFrames()
{
    return Bytes(kHexA) + Bytes(kHexB) + Bytes(kHexC) + Bytes(kHexD) + Bytes(kHexE)
           + Bytes(kHexF);
}

int
DecodeAll(const std::string &wire, Sink *s)
{
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, s);
    int rc = bd_es_decoder_feed(&d, wire.data(), wire.size());
    if (rc != BD_ES_OK) {
        return rc;
    }
    return bd_es_decoder_finish(&d);
}

/* Overwrites the big-endian u32 at <off> and, when <fix_prelude>, recomputes the prelude CRC. */
void
PutU32(std::string *m, size_t off, uint32_t v, bool fix_prelude)
{
    for (int i = 0; i < 4; i++) {
        (*m)[off + i] = (char) (v >> (24 - 8 * i));
    }
    if (fix_prelude) {
        PutU32(m, 8, bd_crc32(0, m->data(), 8), false);
    }
}

TEST(Crc32, CheckValue)
{
    EXPECT_EQ(0xCBF43926u, bd_crc32(0, "123456789", 9));
    EXPECT_EQ(0u, bd_crc32(0, "", 0));
    EXPECT_EQ(0xCBF43926u, bd_crc32(bd_crc32(0, "1234", 4), "56789", 5));
}

/* The definition, a bit at a time. */
static uint32_t
Crc32Bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
    }
    return ~c;
}

TEST(Crc32, EightAtATimeAgreesWithTheDefinition)
{
    /* every length up to 600 at every alignment, and split at every point */
    std::vector<uint8_t> buf(608);
    uint32_t x = 2463534242u;
    for (uint8_t &b : buf) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b = (uint8_t) x;
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n <= 600; n++) {
            ASSERT_EQ(Crc32Bitwise(&buf[off], n), bd_crc32(0, &buf[off], n)) << off << " " << n;
        }
    }
    uint32_t whole = bd_crc32(0, buf.data(), 600);
    for (size_t cut = 0; cut <= 600; cut++) {
        ASSERT_EQ(whole, bd_crc32(bd_crc32(0, buf.data(), cut), &buf[cut], 600 - cut)) << cut;
    }
}

TEST(EventStream, DecodeEmptyAndNoHeaders)
{
    Sink s;
    ASSERT_EQ(BD_ES_OK, DecodeAll(Bytes(kHexA) + Bytes(kHexB), &s));
    ASSERT_EQ(2u, s.msgs.size());
    EXPECT_TRUE(s.msgs[0].headers.empty());
    EXPECT_EQ("", s.msgs[0].payload);
    EXPECT_TRUE(s.msgs[1].headers.empty());
    EXPECT_EQ("{'foo':'bar'}", s.msgs[1].payload);
}

TEST(EventStream, DecodeBedrockFrames)
{
    Sink s;
    ASSERT_EQ(BD_ES_OK, DecodeAll(Bytes(kHexC) + Bytes(kHexD) + Bytes(kHexE), &s));
    ASSERT_EQ(3u, s.msgs.size());
    ExpectHeadersEq({S(":event-type", "contentBlockDelta"),
                     S(":content-type", "application/json"), S(":message-type", "event")},
                    s.msgs[0].headers);
    EXPECT_EQ("{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}", s.msgs[0].payload);
    ExpectHeadersEq({S(":exception-type", "throttlingException"),
                     S(":content-type", "application/json"), S(":message-type", "exception")},
                    s.msgs[1].headers);
    EXPECT_EQ("{\"message\":\"Too many requests\"}", s.msgs[1].payload);
    ExpectHeadersEq({S(":message-type", "error"), S(":error-code", "InternalFailure"),
                     S(":error-message", "boom")},
                    s.msgs[2].headers);
    EXPECT_EQ("", s.msgs[2].payload);
}

TEST(EventStream, DecodeEveryHeaderType)
{
    Sink s;
    ASSERT_EQ(BD_ES_OK, DecodeAll(Bytes(kHexF), &s));
    ASSERT_EQ(1u, s.msgs.size());
    ExpectHeadersEq(HeadersF(), s.msgs[0].headers);
    EXPECT_EQ("", s.msgs[0].payload);
}

TEST(EventStream, HeaderLookup)
{
    bd_es_message_t m;
    m.headers = {S(":event-type", "messageStart"), H(":n", BD_ES_INT, 3)};
    m.payload = nullptr;
    m.payload_len = 0;
    ASSERT_NE(nullptr, bd_es_message_header(&m, ":event-type"));
    EXPECT_EQ("messageStart", *bd_es_message_header(&m, ":event-type"));
    EXPECT_EQ(nullptr, bd_es_message_header(&m, ":n"));
    EXPECT_EQ(nullptr, bd_es_message_header(&m, ":EVENT-TYPE"));
}

TEST(EventStream, EncodeReproducesExamples)
{
    std::string out;
    bd_es_encode({}, nullptr, 0, &out);
    EXPECT_EQ(Bytes(kHexA), out);
    out.clear();
    bd_es_encode({}, "{'foo':'bar'}", 13, &out);
    EXPECT_EQ(Bytes(kHexB), out);
    out.clear();
    bd_es_encode_event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}",
                       &out);
    EXPECT_EQ(Bytes(kHexC), out);
    out.clear();
    bd_es_encode_exception("throttlingException", "{\"message\":\"Too many requests\"}", &out);
    EXPECT_EQ(Bytes(kHexD), out);
    out.clear();
    bd_es_encode({S(":message-type", "error"), S(":error-code", "InternalFailure"),
                  S(":error-message", "boom")},
                 nullptr, 0, &out);
    EXPECT_EQ(Bytes(kHexE), out);
    out.clear();
    bd_es_encode(HeadersF(), nullptr, 0, &out);
    EXPECT_EQ(Bytes(kHexF), out);
    /* Encoding appends. */
    bd_es_encode({}, nullptr, 0, &out);
    EXPECT_EQ(Bytes(kHexF) + Bytes(kHexA), out);
}

void
ExpectSameMessages(const Sink &want, const Sink &got)
{
    ASSERT_EQ(want.msgs.size(), got.msgs.size());
    for (size_t i = 0; i < want.msgs.size(); i++) {
        ExpectHeadersEq(want.msgs[i].headers, got.msgs[i].headers);
        EXPECT_EQ(want.msgs[i].payload, got.msgs[i].payload);
    }
}

TEST(EventStream, ByteByByte)
{
    std::string wire = AllFrames();
    Sink whole, bytes;
    ASSERT_EQ(BD_ES_OK, DecodeAll(wire, &whole));
    ASSERT_EQ(6u, whole.msgs.size());
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &bytes);
    for (char c : wire) {
        ASSERT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, &c, 1));
    }
    EXPECT_EQ(BD_ES_OK, bd_es_decoder_finish(&d));
    ExpectSameMessages(whole, bytes);
}

TEST(EventStream, RandomSplits)
{
    std::string wire = AllFrames() + AllFrames();
    Sink whole;
    ASSERT_EQ(BD_ES_OK, DecodeAll(wire, &whole));
    for (unsigned seed = 1; seed <= 50; seed++) {
        std::mt19937 rng(seed);
        std::uniform_int_distribution<size_t> len(0, 200);
        Sink got;
        bd_es_decoder_t d;
        bd_es_decoder_init(&d, OnMessage, &got);
        for (size_t pos = 0; pos < wire.size();) {
            size_t n = std::min(len(rng), wire.size() - pos);
            ASSERT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, wire.data() + pos, n)) << seed;
            pos += n;
        }
        ASSERT_EQ(BD_ES_OK, bd_es_decoder_finish(&d)) << seed;
        ExpectSameMessages(whole, got);
    }
}

TEST(EventStream, BadPreludeCrc)
{
    std::string m = Bytes(kHexC);
    m[9] ^= 1;
    Sink s;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    /* Detected from the first 12 bytes, before the rest arrives. */
    EXPECT_EQ(BD_ES_BAD_PRELUDE, bd_es_decoder_feed(&d, m.data(), 12));
    EXPECT_EQ(BD_ES_BAD_PRELUDE, bd_es_decoder_feed(&d, m.data() + 12, m.size() - 12));
    EXPECT_EQ(BD_ES_BAD_PRELUDE, bd_es_decoder_finish(&d));
    EXPECT_TRUE(s.msgs.empty());
}

TEST(EventStream, BadMessageCrcIsSticky)
{
    std::string m = Bytes(kHexC);
    m[50] ^= 0x20; /* a header byte: only the message CRC covers it */
    Sink s;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    std::string wire = Bytes(kHexA) + m + Bytes(kHexB);
    EXPECT_EQ(BD_ES_BAD_MESSAGE, bd_es_decoder_feed(&d, wire.data(), wire.size()));
    EXPECT_EQ(1u, s.msgs.size());
    std::string more = Bytes(kHexA);
    EXPECT_EQ(BD_ES_BAD_MESSAGE, bd_es_decoder_feed(&d, more.data(), more.size()));
    EXPECT_EQ(1u, s.msgs.size());
    EXPECT_STREQ("event stream message checksum mismatch", bd_es_strerror(BD_ES_BAD_MESSAGE));
}

TEST(EventStream, TruncatedAtFinish)
{
    std::string m = Bytes(kHexC);
    for (size_t cut : {size_t(1), size_t(11), size_t(12), m.size() - 1}) {
        Sink s;
        bd_es_decoder_t d;
        bd_es_decoder_init(&d, OnMessage, &s);
        EXPECT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, m.data(), cut)) << cut;
        EXPECT_EQ(BD_ES_TRUNCATED, bd_es_decoder_finish(&d)) << cut;
        EXPECT_TRUE(s.msgs.empty());
    }
    EXPECT_STREQ("truncated event stream", bd_es_strerror(BD_ES_TRUNCATED));
}

TEST(EventStream, OversizedAndUndersizedTotal)
{
    for (uint32_t total : {BD_EVENTSTREAM_MAX_MESSAGE + 1, 0xffffffffu, 15u, 0u}) {
        std::string m = Bytes(kHexA);
        PutU32(&m, 0, total, true);
        Sink s;
        bd_es_decoder_t d;
        bd_es_decoder_init(&d, OnMessage, &s);
        EXPECT_EQ(BD_ES_BAD_LENGTH, bd_es_decoder_feed(&d, m.data(), m.size())) << total;
        EXPECT_EQ(BD_ES_BAD_LENGTH, bd_es_decoder_finish(&d));
    }
    /* The cap is the decoder's, not the format's. */
    std::string c = Bytes(kHexC);
    Sink s;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    d.max_message = 100;
    EXPECT_EQ(BD_ES_BAD_LENGTH, bd_es_decoder_feed(&d, c.data(), c.size()));
}

TEST(EventStream, HeadersLongerThanMessage)
{
    std::string m = Bytes(kHexB);
    PutU32(&m, 4, 14, true); /* total 29: at most 13 bytes of headers fit */
    Sink s;
    EXPECT_EQ(BD_ES_BAD_LENGTH, DecodeAll(m, &s));
    EXPECT_TRUE(s.msgs.empty());
}

/* Re-frames <body> (headers + payload) with correct lengths and CRCs, so only the header
 * parser can object. */
std::string
Frame(const std::string &headers, const std::string &payload)
{
    std::string m(12, '\0');
    PutU32(&m, 0, (uint32_t) (16 + headers.size() + payload.size()), false);
    PutU32(&m, 4, (uint32_t) headers.size(), true);
    m += headers + payload;
    uint32_t crc = bd_crc32(0, m.data(), m.size());
    m.append(4, '\0');
    PutU32(&m, m.size() - 4, crc, false);
    return m;
}

TEST(EventStream, BadHeaders)
{
    const std::string cases[] = {
        std::string("\x01" "a" "\x0a", 3),              /* unknown type 10 */
        std::string("\x01" "a" "\xff", 3),              /* unknown type 255 */
        std::string("\x01" "a" "\x04" "\x00\x01", 5),   /* int cut short */
        std::string("\x01" "a" "\x07" "\x00\x05" "ab", 7), /* string overruns the section */
        std::string("\x05" "ab", 3),                    /* name overruns */
        std::string("\x00" "\x00", 2),                  /* empty name */
        std::string("\x01" "a" "\x09" "0123456789", 13), /* uuid cut short */
    };
    for (const std::string &h : cases) {
        Sink s;
        EXPECT_EQ(BD_ES_BAD_HEADER, DecodeAll(Frame(h, "x"), &s));
        EXPECT_TRUE(s.msgs.empty());
    }
    /* The same framing with a valid header decodes, so the cases above fail for the header. */
    Sink ok;
    EXPECT_EQ(BD_ES_OK, DecodeAll(Frame(std::string("\x01" "a" "\x02" "\x07", 4), "x"), &ok));
    ASSERT_EQ(1u, ok.msgs.size());
    EXPECT_EQ(7, ok.msgs[0].headers[0].number);
    EXPECT_EQ("x", ok.msgs[0].payload);
}

TEST(EventStream, CallbackStop)
{
    std::string wire = AllFrames();
    Sink s;
    s.stop_after = 2;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    EXPECT_EQ(BD_ES_STOPPED, bd_es_decoder_feed(&d, wire.data(), wire.size()));
    EXPECT_EQ(2u, s.msgs.size());
    /* Not an error: the rest is still buffered and a later call goes on from the third. */
    s.stop_after = 0;
    EXPECT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, "", 0));
    EXPECT_EQ(6u, s.msgs.size());
    EXPECT_EQ(BD_ES_OK, bd_es_decoder_finish(&d));
}

TEST(EventStream, CallbackStopWhileBuffered)
{
    std::string wire = AllFrames();
    Sink s;
    s.stop_after = 1;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    ASSERT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, wire.data(), 5));
    EXPECT_EQ(BD_ES_STOPPED, bd_es_decoder_feed(&d, wire.data() + 5, wire.size() - 5));
    EXPECT_EQ(1u, s.msgs.size());
    s.stop_after = 0;
    EXPECT_EQ(BD_ES_OK, bd_es_decoder_finish(&d));
    EXPECT_EQ(6u, s.msgs.size());
}

TEST(EventStream, LargePayloadRoundTrip)
{
    std::string payload(100000, 'p');
    for (size_t i = 0; i < payload.size(); i++) {
        payload[i] = (char) (i * 31);
    }
    std::string wire;
    bd_es_encode_event("chunk", payload, &wire);
    bd_es_encode_event("chunk", "{}", &wire);
    Sink s;
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, OnMessage, &s);
    for (size_t pos = 0; pos < wire.size(); pos += 4096) {
        size_t n = std::min<size_t>(4096, wire.size() - pos);
        ASSERT_EQ(BD_ES_OK, bd_es_decoder_feed(&d, wire.data() + pos, n));
    }
    ASSERT_EQ(BD_ES_OK, bd_es_decoder_finish(&d));
    ASSERT_EQ(2u, s.msgs.size());
    EXPECT_EQ(payload, s.msgs[0].payload);
    EXPECT_EQ("{}", s.msgs[1].payload);
}

} // namespace

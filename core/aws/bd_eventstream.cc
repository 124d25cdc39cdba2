/*
 * bd_eventstream.cc: AWS event-stream framing: the CRC-32, the incremental decoder and the
 * encoder. A decoder belongs to one transfer on one thread; encoding and CRC are pure.
 * Invariant: a decoder's <buf> never holds a complete message between calls to feed, except
 * after the callback asked to stop; once <failed> is set, no further message is delivered.
 */
#include "bd_eventstream.h"

#include <string.h>

/* The reflected IEEE tables (polynomial 0xEDB88320) for slicing by 8: table k is the
 * CRC of a byte followed by k zero bytes, so eight bytes are folded in with eight
 * lookups and no loop-carried shift per byte (a streamed event's frame is checked in
 * a quarter of the byte-at-a-time time). Built at compile time: no run-time
 * initialisation, no race between threads on first use. */
struct bd_crc32_tables_t {
    uint32_t v[8][256];
};

static constexpr bd_crc32_tables_t
bd_crc32_make_tables()
{
    bd_crc32_tables_t t = {};
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        t.v[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int k = 1; k < 8; k++) {
            t.v[k][i] = (t.v[k - 1][i] >> 8) ^ t.v[0][t.v[k - 1][i] & 0xff];
        }
    }
    return t;
}

static constexpr bd_crc32_tables_t bd_crc32_tables = bd_crc32_make_tables();

uint32_t
bd_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint32_t(*t)[256] = bd_crc32_tables.v;
    const uint8_t *p = (const uint8_t *) data;
    crc = ~crc;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; len >= 8; p += 8, len -= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24]
              ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
#endif
    for (; len > 0; p++, len--) {
        crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

static uint32_t
bd_es_get_u32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static uint64_t
bd_es_get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void
bd_es_put_be(std::string *out, uint64_t v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        out->push_back((char) (uint8_t) (v >> (8 * (i - 1))));
    }
}

const std::string *
bd_es_message_header(const bd_es_message_t *m, const char *name)
{
    /* lengths first: a streamed event is looked up five times, ":event-type" and
     * ":message-type" differ in length, and most names never reach memcmp */
    size_t len = strlen(name);
    for (const bd_es_header_t &h : m->headers) {
        if (h.type == BD_ES_STRING && h.name.size() == len && memcmp(h.name.data(), name, len) == 0) {
            return &h.str;
        }
    }
    return NULL;
}

void
bd_es_decoder_init(bd_es_decoder_t *d, bd_es_on_message_pt cb, void *arg)
{
    d->buf.clear();
    d->max_message = BD_EVENTSTREAM_MAX_MESSAGE;
    d->on_message = cb;
    d->arg = arg;
    d->failed = BD_ES_OK;
}

/* Sign-extends the low <n> bytes of <v>. */
static int64_t
bd_es_signed(uint64_t v, size_t n)
{
    if (n < 8 && (v & ((uint64_t) 1 << (8 * n - 1)))) {
        v |= ~(uint64_t) 0 << (8 * n);
    }
    return (int64_t) v;
}

/* Parses one header at <p> (at most <end>); returns the bytes used, or 0 when it overruns the
 * section or has an unknown type. */
static size_t
bd_es_parse_header(const uint8_t *p, const uint8_t *end, bd_es_header_t *h)
{
    static const size_t fixed[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16};
    size_t avail = (size_t) (end - p);
    if (avail < 2 || p[0] == 0 || avail < (size_t) p[0] + 2) {
        return 0;
    }
    size_t name_len = p[0];
    h->name.assign((const char *) p + 1, name_len);
    h->type = p[1 + name_len];
    h->number = 0;
    h->str.clear();
    const uint8_t *v = p + 2 + name_len;
    avail -= 2 + name_len;
    if (h->type < BD_ES_BOOL_TRUE || h->type > BD_ES_UUID) {
        return 0;
    }
    if (h->type == BD_ES_BYTES || h->type == BD_ES_STRING) {
        if (avail < 2 || avail - 2 < bd_es_get_be(v, 2)) {
            return 0;
        }
        size_t n = (size_t) bd_es_get_be(v, 2);
        h->str.assign((const char *) v + 2, n);
        return 2 + name_len + 2 + n;
    }
    size_t n = fixed[h->type];
    if (avail < n) {
        return 0;
    }
    if (h->type == BD_ES_UUID) {
        h->str.assign((const char *) v, n);
    } else if (h->type <= BD_ES_BOOL_FALSE) {
        h->number = h->type == BD_ES_BOOL_TRUE;
    } else {
        h->number = bd_es_signed(bd_es_get_be(v, n), n);
    }
    return 2 + name_len + n;
}

/* Checks the prelude of the message at <p> (12 bytes available); returns its total length,
 * or 0 with <*rc> set. */
static uint32_t
bd_es_check_prelude(const bd_es_decoder_t *d, const uint8_t *p, int *rc)
{
    if (bd_crc32(0, p, 8) != bd_es_get_u32(p + 8)) {
        *rc = BD_ES_BAD_PRELUDE;
        return 0;
    }
    uint32_t total = bd_es_get_u32(p);
    uint32_t hlen = bd_es_get_u32(p + 4);
    if (total < 16 || total > d->max_message || hlen > total - 16) {
        *rc = BD_ES_BAD_LENGTH;
        return 0;
    }
    return total;
}

/* Verifies and delivers one complete message of <total> bytes at <p>. */
static int
bd_es_dispatch(bd_es_decoder_t *d, const uint8_t *p, uint32_t total)
{
    if (bd_crc32(0, p, total - 4) != bd_es_get_u32(p + total - 4)) {
        return BD_ES_BAD_MESSAGE;
    }
    uint32_t hlen = bd_es_get_u32(p + 4);
    const uint8_t *h = p + 12;
    const uint8_t *hend = h + hlen;
    /* One message per thread, reused: its headers (and their strings) keep their
     * memory from one message to the next, so a stream's events allocate nothing
     * here. A callback does not decode on the same thread while it runs. */
    static thread_local bd_es_message_t m;
    size_t n = 0;
    while (h < hend) {
        if (n == m.headers.size()) {
            m.headers.emplace_back();
        }
        size_t used = bd_es_parse_header(h, hend, &m.headers[n]);
        if (used == 0) {
            return BD_ES_BAD_HEADER;
        }
        h += used;
        n++;
    }
    m.headers.resize(n);
    m.payload = hend;
    m.payload_len = total - hlen - 16;
    if (d->on_message != NULL && d->on_message(d->arg, &m) != 0) {
        return BD_ES_STOPPED;
    }
    return BD_ES_OK;
}

/* Delivers every complete message in [p, p+len); <*used> gets the bytes consumed. */
static int
bd_es_decode_run(bd_es_decoder_t *d, const uint8_t *p, size_t len, size_t *used)
{
    size_t pos = 0;
    int rc = BD_ES_OK;
    while (len - pos >= 12) {
        uint32_t total = bd_es_check_prelude(d, p + pos, &rc);
        if (total == 0 || len - pos < total) {
            break;
        }
        rc = bd_es_dispatch(d, p + pos, total);
        if (rc != BD_ES_OK && rc != BD_ES_STOPPED) {
            break;
        }
        pos += total;
        if (rc == BD_ES_STOPPED) {
            break;
        }
    }
    *used = pos;
    return rc;
}

int
bd_es_decoder_feed(bd_es_decoder_t *d, const void *data, size_t len)
{
    if (d->failed != BD_ES_OK) {
        return d->failed;
    }
    size_t used = 0;
    int rc;
    if (d->buf.empty()) {
        /* Common case: decode straight from the caller's bytes and keep only the tail. */
        rc = bd_es_decode_run(d, (const uint8_t *) data, len, &used);
        if (rc == BD_ES_OK || rc == BD_ES_STOPPED) {
            d->buf.assign((const char *) data + used, len - used);
        }
    } else {
        d->buf.append((const char *) data, len);
        rc = bd_es_decode_run(d, (const uint8_t *) d->buf.data(), d->buf.size(), &used);
        d->buf.erase(0, used);
    }
    if (rc < 0) {
        /* Framing is lost: nothing after this point can be trusted, so drop the bytes. */
        d->failed = rc;
        d->buf.clear();
        d->buf.shrink_to_fit();
    }
    return rc;
}

int
bd_es_decoder_finish(bd_es_decoder_t *d)
{
    if (d->failed != BD_ES_OK) {
        return d->failed;
    }
    if (!d->buf.empty()) {
        /* A stopped decoder may still hold whole messages; feeding nothing delivers them. */
        int rc = bd_es_decoder_feed(d, "", 0);
        if (rc != BD_ES_OK) {
            return rc;
        }
    }
    if (!d->buf.empty()) {
        d->failed = BD_ES_TRUNCATED;
        return BD_ES_TRUNCATED;
    }
    return BD_ES_OK;
}

const char *
bd_es_strerror(int status)
{
    switch (status) {
    case BD_ES_OK:
        return "ok";
    case BD_ES_STOPPED:
        return "stopped by the consumer";
    case BD_ES_BAD_PRELUDE:
        return "event stream prelude checksum mismatch";
    case BD_ES_BAD_MESSAGE:
        return "event stream message checksum mismatch";
    case BD_ES_BAD_LENGTH:
        return "event stream message length out of range";
    case BD_ES_BAD_HEADER:
        return "malformed event stream header";
    case BD_ES_TRUNCATED:
        return "truncated event stream";
    default:
        return "unknown event stream status";
    }
}

/* Names longer than 255 bytes and values longer than 65535 bytes cannot be framed; they are
 * cut to fit, since only the emulator and tests encode and they stay far below. */
static void
bd_es_encode_header(const bd_es_header_t &h, std::string *out)
{
    static const size_t fixed[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16};
    size_t name_len = h.name.size() > 255 ? 255 : h.name.size();
    out->push_back((char) (uint8_t) name_len);
    out->append(h.name, 0, name_len);
    out->push_back((char) (uint8_t) h.type);
    if (h.type == BD_ES_BYTES || h.type == BD_ES_STRING) {
        size_t n = h.str.size() > 65535 ? 65535 : h.str.size();
        bd_es_put_be(out, n, 2);
        out->append(h.str, 0, n);
    } else if (h.type == BD_ES_UUID) {
        std::string u = h.str;
        u.resize(16, '\0');
        out->append(u);
    } else if (h.type > BD_ES_BOOL_FALSE && h.type < BD_ES_UUID) {
        bd_es_put_be(out, (uint64_t) h.number, fixed[h.type]);
    }
}

void
bd_es_encode(const std::vector<bd_es_header_t> &headers, const void *payload,
             size_t payload_len, std::string *out)
{
    std::string hs;
    for (const bd_es_header_t &h : headers) {
        bd_es_encode_header(h, &hs);
    }
    size_t start = out->size();
    uint32_t total = (uint32_t) (16 + hs.size() + payload_len);
    bd_es_put_be(out, total, 4);
    bd_es_put_be(out, hs.size(), 4);
    bd_es_put_be(out, bd_crc32(0, out->data() + start, 8), 4);
    out->append(hs);
    if (payload_len > 0) {
        out->append((const char *) payload, payload_len);
    }
    bd_es_put_be(out, bd_crc32(0, out->data() + start, total - 4), 4);
}

static bd_es_header_t
bd_es_string_header(const char *name, const char *value)
{
    bd_es_header_t h;
    h.name = name;
    h.type = BD_ES_STRING;
    h.number = 0;
    h.str = value;
    return h;
}

void
bd_es_encode_event(const char *event_type, const std::string &json_payload, std::string *out)
{
    std::vector<bd_es_header_t> hs;
    hs.push_back(bd_es_string_header(":event-type", event_type));
    hs.push_back(bd_es_string_header(":content-type", "application/json"));
    hs.push_back(bd_es_string_header(":message-type", "event"));
    bd_es_encode(hs, json_payload.data(), json_payload.size(), out);
}

void
bd_es_encode_exception(const char *exception_type, const std::string &json_payload,
                       std::string *out)
{
    std::vector<bd_es_header_t> hs;
    hs.push_back(bd_es_string_header(":exception-type", exception_type));
    hs.push_back(bd_es_string_header(":content-type", "application/json"));
    hs.push_back(bd_es_string_header(":message-type", "exception"));
    bd_es_encode(hs, json_payload.data(), json_payload.size(), out);
}

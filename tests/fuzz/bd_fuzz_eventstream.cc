/*
 * bd_fuzz_eventstream.cc: fuzz target for the event-stream decoder (core/aws/bd_eventstream.h).
 * The same bytes fed whole and in pieces must give the same messages and the same final
 * statuses, whatever the splits and however often the consumer pauses. Single-threaded.
 * Input: byte 0 picks the options, the rest is the stream (its CRCs optionally fixed up so
 * that mutations reach the header parser).
 */
#include <string.h>

#include <string>
#include <vector>

#include "core/aws/bd_eventstream.h"
#include "tests/fuzz/bd_fuzz.h"
#include "tests/fuzz/bd_fuzz_es.h"

/* One decoder run: every message in a canonical byte form, and what it returned. */
struct bd_fuzz_es_run_t {
    std::vector<std::string> messages;
    unsigned stop_every; /* the consumer pauses after every Nth message; 0 = never */
    int feed_status;     /* the last feed's status, after resuming every pause */
    int finish_status;
};

static void
bd_fuzz_es_put(std::string *out, const std::string &s)
{
    out->append(std::to_string(s.size())).append(":").append(s);
}

static int
bd_fuzz_es_on_message(void *arg, const bd_es_message_t *m)
{
    bd_fuzz_es_run_t *run = (bd_fuzz_es_run_t *) arg;
    std::string s;
    for (const bd_es_header_t &h : m->headers) {
        BD_FUZZ_CHECK(!h.name.empty(), "a header without a name");
        BD_FUZZ_CHECK(h.type >= BD_ES_BOOL_TRUE && h.type <= BD_ES_UUID, "a bad header type");
        bd_fuzz_es_put(&s, h.name);
        s.append(std::to_string(h.type)).append(",").append(std::to_string(h.number));
        bd_fuzz_es_put(&s, h.str);
        /* The lookup takes a C string: a name with a NUL in it cannot be asked for. */
        if (h.type == BD_ES_STRING && h.name.find('\0') == std::string::npos) {
            BD_FUZZ_CHECK(bd_es_message_header(m, h.name.c_str()) != NULL, "header lookup");
        }
    }
    BD_FUZZ_CHECK(m->payload != NULL || m->payload_len == 0, "a payload without bytes");
    s.append("|").append((const char *) m->payload, m->payload_len);
    run->messages.push_back(s);
    return run->stop_every != 0 && run->messages.size() % run->stop_every == 0;
}

/* Feeds one piece; a pause is resumed at once by feeding nothing, as the transfer does
 * when the client drains. */
static int
bd_fuzz_es_feed(bd_es_decoder_t *d, const uint8_t *p, size_t n)
{
    int rc = bd_es_decoder_feed(d, p, n);
    for (int guard = 0; rc == BD_ES_STOPPED; guard++) {
        BD_FUZZ_CHECK(guard < 1 << 20, "a pause that never ends");
        rc = bd_es_decoder_feed(d, "", 0);
    }
    return rc;
}

/* Runs the stream through a decoder cut at the offsets in <cuts> (ascending). */
static void
bd_fuzz_es_decode(const std::string &s, const std::vector<size_t> &cuts, bd_fuzz_es_run_t *run)
{
    bd_es_decoder_t d;
    bd_es_decoder_init(&d, bd_fuzz_es_on_message, run);
    const uint8_t *p = (const uint8_t *) s.data();
    size_t at = 0;
    run->feed_status = bd_fuzz_es_feed(&d, p, 0);
    for (size_t cut : cuts) {
        run->feed_status = bd_fuzz_es_feed(&d, p + at, cut - at);
        at = cut;
    }
    run->feed_status = bd_fuzz_es_feed(&d, p + at, s.size() - at);
    run->finish_status = bd_es_decoder_finish(&d);
    BD_FUZZ_CHECK(run->finish_status != BD_ES_STOPPED, "finish reported a pause");
    BD_FUZZ_CHECK(bd_es_decoder_finish(&d) == run->finish_status, "finish is not sticky");
}

static bool
bd_fuzz_es_same(const bd_fuzz_es_run_t &a, const bd_fuzz_es_run_t &b)
{
    return a.messages == b.messages && a.feed_status == b.feed_status &&
           a.finish_status == b.finish_status;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    /* Byte 0: bit 7 fixes the CRCs, bits 4-6 the pause period, bits 0-3 the piece size. */
    uint8_t opt = data[0];
    std::string s((const char *) data + 1, size - 1);
    if (opt & 0x80) {
        bd_fuzz_es_fix_crcs(&s);
    }

    bd_fuzz_es_run_t whole = bd_fuzz_es_run_t();
    bd_fuzz_es_decode(s, std::vector<size_t>(), &whole);

    /* Pieces of 1..16 bytes, and every piece boundary moved by the byte values themselves,
     * so mutations also explore where the cuts fall. */
    std::vector<size_t> cuts;
    size_t step = (opt & 0x0f) + 1;
    for (size_t at = step; at < s.size(); at += step + (uint8_t) s[at] % 3) {
        cuts.push_back(at);
    }
    bd_fuzz_es_run_t split = bd_fuzz_es_run_t();
    split.stop_every = (opt >> 4) & 0x07;
    bd_fuzz_es_decode(s, cuts, &split);

    /* Bytes to the decoder one at a time: the smallest pieces there are. */
    std::vector<size_t> bytes;
    for (size_t at = 1; at < s.size() && at < 4096; at++) {
        bytes.push_back(at);
    }
    bd_fuzz_es_run_t single = bd_fuzz_es_run_t();
    single.stop_every = 1;
    bd_fuzz_es_decode(s, bytes, &single);

    BD_FUZZ_CHECK(bd_fuzz_es_same(whole, split), "pieces decode differently from the whole");
    BD_FUZZ_CHECK(bd_fuzz_es_same(whole, single), "bytes decode differently from the whole");
    BD_FUZZ_CHECK(whole.finish_status != BD_ES_OK || whole.feed_status == BD_ES_OK,
                  "a clean finish after a failed feed");
    return 0;
}

/*
 * bd_fuzz_stream.cc: fuzz target for the stream converters. The input is an event stream
 * (CRCs fixed up); each frame goes, as the Bedrock relay hands it on, to the ConverseStream
 * -> Anthropic SSE, ConverseStream -> OpenAI chunk and InvokeModel stream state machines.
 * Their output must stay well-formed SSE whose data lines are JSON, and nothing may follow
 * the end of a response. The Anthropic converter is also fed each payload's text, as the
 * relay does, and must write the same events as from the tree. Single-threaded.
 */
#include <jansson.h>
#include <string.h>

#include <string>

#include "core/aws/bd_eventstream.h"
#include "modules/convert/bd_convert.h"
#include "modules/convert/bd_convert_openai.h"
#include "tests/fuzz/bd_fuzz.h"
#include "tests/fuzz/bd_fuzz_es.h"

struct bd_fuzz_stream_t {
    bd_convert_stream_t anthropic;
    bd_convert_stream_t anthropic_text; /* fed the payload text, as the relay does */
    bd_convert_openai_stream_t openai;
    bd_convert_invoke_stream_t invoke;
};

/* A data line's JSON: an object, or null for "[DONE]". Aborts on anything else. */
static json_t *
bd_fuzz_stream_data(const std::string &data)
{
    if (data == "[DONE]") {
        return NULL;
    }
    json_t *j = json_loadb(data.data(), data.size(), 0, NULL);
    BD_FUZZ_CHECK(json_is_object(j), "an SSE data line that is not a JSON object");
    return j;
}

/* One SSE event (the lines before a blank line): comments, at most one "event:" and one
 * "data:" line, and when both are there the event name is the data's "type", as in the
 * Anthropic stream; so no upstream text can add a line or an event of its own. */
static void
bd_fuzz_stream_check_event(const std::string &ev)
{
    std::string name, data;
    int names = 0, datas = 0;
    size_t at = 0;
    while (at < ev.size()) {
        size_t nl = ev.find('\n', at);
        std::string line = ev.substr(at, nl - at);
        at = nl + 1;
        BD_FUZZ_CHECK(line.find('\r') == std::string::npos, "a CR inside an SSE line");
        BD_FUZZ_CHECK(!line.empty(), "an empty line inside an SSE event");
        if (line.compare(0, 7, "event: ") == 0) {
            name = line.substr(7);
            names++;
        } else if (line.compare(0, 6, "data: ") == 0) {
            data = line.substr(6);
            datas++;
        } else {
            BD_FUZZ_CHECK(line[0] == ':', "an SSE line that is neither event, data nor comment");
        }
    }
    BD_FUZZ_CHECK(names <= 1 && datas <= 1, "an SSE event with two event or data lines");
    BD_FUZZ_CHECK(names == 0 || datas == 1, "an SSE event name without data");
    json_t *j = datas == 1 ? bd_fuzz_stream_data(data) : NULL;
    if (names == 1) {
        const char *type = json_string_value(json_object_get(j, "type"));
        BD_FUZZ_CHECK(type != NULL && name == type, "an SSE event named unlike its data type");
    }
    json_decref(j);
}

/* Whatever one call appended: whole events, each ended by a blank line. */
static void
bd_fuzz_stream_check_sse(const std::string &out)
{
    if (out.empty()) {
        return;
    }
    BD_FUZZ_CHECK(out.size() >= 2 && out.compare(out.size() - 2, 2, "\n\n") == 0,
                  "SSE output that does not end an event");
    size_t at = 0;
    while (at < out.size()) {
        size_t end = out.find("\n\n", at);
        bd_fuzz_stream_check_event(out.substr(at, end + 1 - at));
        at = end + 2;
    }
}

/* Whether two SSE outputs hold the same events: names equal, data equal as JSON. */
static bool
bd_fuzz_stream_same_sse(const std::string &a, const std::string &b)
{
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        size_t ea = a.find("\n\n", i), eb = b.find("\n\n", j);
        std::string x = a.substr(i, ea - i), y = b.substr(j, eb - j);
        size_t dx = x.find("data: "), dy = y.find("data: ");
        if (x.substr(0, dx) != y.substr(0, dy)) {
            return false;
        }
        if (dx != std::string::npos || dy != std::string::npos) {
            if (dx == std::string::npos || dy == std::string::npos) {
                return false;
            }
            json_t *jx = json_loads(x.c_str() + dx + 6, 0, NULL);
            json_t *jy = json_loads(y.c_str() + dy + 6, 0, NULL);
            bool same = jx != NULL && json_equal(jx, jy);
            json_decref(jx);
            json_decref(jy);
            if (!same) {
                return false;
            }
        }
        i = ea + 2;
        j = eb + 2;
    }
    return i >= a.size() && j >= b.size();
}

static void
bd_fuzz_stream_event(bd_fuzz_stream_t *st, const char *etype, json_t *payload,
                     const bd_es_message_t *m)
{
    std::string out;
    bd_convert_error_t err;
    bool ended = st->anthropic.finished || st->anthropic.failed;
    int rc = bd_convert_stream_feed(&st->anthropic, etype, payload, &out, &err);
    BD_FUZZ_CHECK(!ended || out.empty(), "Anthropic stream output after its end");
    bd_fuzz_stream_check_sse(out);

    /* The scan's text deltas against the tree's: the same events, the same values. */
    std::string text;
    int trc = bd_convert_stream_feed_text(&st->anthropic_text, etype, (const char *) m->payload,
                                          m->payload_len, &text, &err);
    BD_FUZZ_CHECK(rc == trc, "the text feed judged an event unlike the tree feed");
    BD_FUZZ_CHECK(bd_fuzz_stream_same_sse(out, text), "the text feed wrote other events");

    out.clear();
    ended = st->openai.finished || st->openai.failed;
    bd_convert_openai_stream_feed(&st->openai, etype, payload, &out, &err);
    BD_FUZZ_CHECK(!ended || out.empty(), "OpenAI stream output after its end");
    bd_fuzz_stream_check_sse(out);

    out.clear();
    ended = st->invoke.finished || st->invoke.failed;
    bd_convert_invoke_stream_feed(&st->invoke, etype, (const char *) m->payload, m->payload_len,
                                  &out, &err);
    BD_FUZZ_CHECK(!ended || out.empty(), "invoke stream output after its end");
    bd_fuzz_stream_check_sse(out);
}

static void
bd_fuzz_stream_exception(bd_fuzz_stream_t *st, const char *xtype, json_t *payload)
{
    std::string out;
    bd_convert_error_t err;
    bd_convert_stream_exception(&st->anthropic, xtype, payload, &out, &err);
    BD_FUZZ_CHECK(st->anthropic.failed, "an exception did not fail the Anthropic stream");
    bd_fuzz_stream_check_sse(out);
    std::string discard;
    bd_convert_stream_exception(&st->anthropic_text, xtype, payload, &discard, &err);
    out.clear();
    bd_convert_openai_stream_exception(&st->openai, xtype, payload, &out, &err);
    BD_FUZZ_CHECK(st->openai.failed, "an exception did not fail the OpenAI stream");
    bd_fuzz_stream_check_sse(out);
    out.clear();
    bd_convert_invoke_stream_exception(&st->invoke, xtype, payload, &out, &err);
    bd_fuzz_stream_check_sse(out);
}

/* The relay's dispatch (modules/bedrock/bd_bedrock_relay.cc): a non-event message type is
 * an exception; an event goes on when its payload is JSON. */
static int
bd_fuzz_stream_on_message(void *arg, const bd_es_message_t *m)
{
    bd_fuzz_stream_t *st = (bd_fuzz_stream_t *) arg;
    const std::string *mtype = bd_es_message_header(m, ":message-type");
    const std::string *etype = bd_es_message_header(m, ":event-type");
    const std::string *xtype = bd_es_message_header(m, ":exception-type");
    json_t *payload = json_loadb((const char *) m->payload, m->payload_len, 0, NULL);
    if (mtype != NULL && *mtype != "event") {
        bd_fuzz_stream_exception(st, xtype ? xtype->c_str() : "InternalServerException",
                                 payload);
    } else if (etype != NULL && payload != NULL) {
        bd_fuzz_stream_event(st, etype->c_str(), payload, m);
    }
    json_decref(payload);
    return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string s((const char *) data, size);
    bd_fuzz_es_fix_crcs(&s);

    bd_fuzz_stream_t st;
    bd_convert_stream_init(&st.anthropic, "msg_bdrk_fuzz", "claude-sonnet-4-5", size % 2 ? 42 : 0);
    bd_convert_stream_init(&st.anthropic_text, "msg_bdrk_fuzz", "claude-sonnet-4-5",
                           size % 2 ? 42 : 0);
    bd_convert_openai_stream_init(&st.openai, "chatcmpl-fuzz", 1700000000, "claude-sonnet-4-5",
                                  size % 2 == 0);
    bd_convert_invoke_stream_init(&st.invoke, "claude-sonnet-4-5");

    bd_es_decoder_t d;
    bd_es_decoder_init(&d, bd_fuzz_stream_on_message, &st);
    bd_es_decoder_feed(&d, s.data(), s.size());
    bd_es_decoder_finish(&d);

    std::string out;
    int rc = bd_convert_stream_end(&st.anthropic, &out);
    BD_FUZZ_CHECK((rc == 0) == st.anthropic.finished, "Anthropic stream end disagrees");
    bd_fuzz_stream_check_sse(out);
    out.clear();
    rc = bd_convert_openai_stream_end(&st.openai, &out);
    BD_FUZZ_CHECK((rc == 0) == st.openai.finished, "OpenAI stream end disagrees");
    bd_fuzz_stream_check_sse(out);
    return 0;
}

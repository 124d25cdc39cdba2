/*
 * bd_convert_invoke_stream.cc: InvokeModelWithResponseStream -> Anthropic SSE. Each
 * "chunk" carries one Anthropic event as base64 JSON; it goes out nearly as it came:
 * the model name is the client's, Bedrock's invocation metrics are stripped, and usage
 * is captured on the way. Owned by one request (its worker thread).
 */
#include <string.h>

#include "core/bd_json_scan.h"
#include "modules/convert/bd_convert_int.h"

void
bd_convert_invoke_stream_init(bd_convert_invoke_stream_t *s, const char *client_model)
{
    *s = bd_convert_invoke_stream_t();
    s->client_model = client_model;
}

/* Takes the counts present in an Anthropic usage object; absent ones stay as they are. */
static void
bd_cv_invoke_usage(bd_convert_invoke_stream_t *s, json_t *u)
{
    bd_cv_int(u, "input_tokens", &s->usage.input_tokens);
    bd_cv_int(u, "output_tokens", &s->usage.output_tokens);
    bd_cv_int(u, "cache_read_input_tokens", &s->usage.cache_read_tokens);
    if (bd_cv_int(u, "cache_creation_input_tokens", &s->usage.cache_write_tokens) == 0) {
        s->usage.cache_write_5m_tokens = s->usage.cache_write_tokens;
        s->usage.cache_write_1h_tokens = 0;
    }
    json_t *cc = json_object_get(u, "cache_creation");
    if (json_is_object(cc)) {
        bd_cv_int(cc, "ephemeral_5m_input_tokens", &s->usage.cache_write_5m_tokens);
        bd_cv_int(cc, "ephemeral_1h_input_tokens", &s->usage.cache_write_1h_tokens);
    }
}

/* Applies what the gateway changes or learns from one event; true when it changed it. */
static bool
bd_cv_invoke_event(bd_convert_invoke_stream_t *s, const char *type, json_t *ev)
{
    if (strcmp(type, "message_start") == 0) {
        json_t *msg = json_object_get(ev, "message");
        s->started = true;
        bd_cv_invoke_usage(s, json_object_get(msg, "usage"));
        if (json_is_object(msg)) {
            bd_cv_set_str(msg, "model", s->client_model.c_str());
            return true;
        }
    } else if (strcmp(type, "message_delta") == 0) {
        bd_cv_invoke_usage(s, json_object_get(ev, "usage"));
    } else if (strcmp(type, "message_stop") == 0) {
        s->finished = true;
        return json_object_del(ev, "amazon-bedrock-invocationMetrics") == 0;
    } else if (strcmp(type, "error") == 0) {
        s->failed = true;
    }
    return false;
}

/* The value of the string member <key> of the object <p, n>, decoded into <out>.
 * False when there is none or the text is not a well-formed object. */
static bool
bd_cv_scan_string_member(const char *p, size_t n, const char *key, std::string *out)
{
    bd_json_members_t it;
    bd_json_member_t m;
    bd_json_span_t v = {nullptr, 0};

    bd_json_members_init(&it, p, n);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, key)) {
            v = m.kind == '"' ? m.value : bd_json_span_t{nullptr, 0};
        }
    }
    if (!it.ok || v.p == nullptr) {
        return false;
    }
    bd_cv_scan_string(&v, out);
    return true;
}

/* Whether <p, n> holds a CR or LF: two memchr passes, where std::string::find_first_of
 * looks each byte up in the set (a tenth of a streamed event's instructions). */
static bool
bd_cv_has_line_break(const char *p, size_t n)
{
    return memchr(p, '\n', n) != nullptr || memchr(p, '\r', n) != nullptr;
}

/* The events the converter reads or edits; every other one passes as it came. */
static bool
bd_cv_invoke_event_read(const std::string &type)
{
    return type == "message_start" || type == "message_delta" || type == "message_stop" ||
           type == "error";
}

int
bd_convert_invoke_stream_feed(bd_convert_invoke_stream_t *s, const char *event_type,
                              const char *payload, size_t len, std::string *out,
                              bd_convert_error_t *err)
{
    /* reused by every event on this thread: no allocation per event */
    static thread_local std::string b64, raw;
    std::string type;

    if (!event_type || strcmp(event_type, "chunk") != 0 || s->finished || s->failed) {
        /* skipped, but a payload that is not JSON still means a broken stream */
        return bd_json_valid(payload, len) ? 0 : bd_cv_upstream(err, "the payload is not JSON");
    }
    if (!bd_cv_scan_string_member(payload, len, "bytes", &b64) ||
        bd_cv_base64_decode(b64.data(), b64.size(), &raw) != 0) {
        return bd_cv_upstream(err, "stream chunk without valid base64 bytes");
    }
    /* The type becomes the SSE "event:" line: a line break in it would forge lines. */
    if (!bd_cv_scan_string_member(raw.data(), raw.size(), "type", &type) || type.empty() ||
        bd_cv_has_line_break(type.data(), type.size()) ||
        memchr(type.data(), '\0', type.size()) != nullptr) {
        return bd_cv_upstream(err, "stream chunk is not an Anthropic event");
    }
    bool multiline = bd_cv_has_line_break(raw.data(), raw.size());
    if (bd_cv_invoke_event_read(type) || multiline) {
        json_t *ev = json_loadb(raw.data(), raw.size(), 0, nullptr);
        if (ev == nullptr) {
            return bd_cv_upstream(err, "stream chunk is not an Anthropic event");
        }
        bool changed = bd_cv_invoke_event(s, type.c_str(), ev);
        if (changed || multiline) {
            /* an SSE data line must be one line; unchanged compact events go out as received */
            bd_convert_json_dump(ev, &raw);
        }
        json_decref(ev);
    }
    out->append("event: ").append(type).append("\ndata: ").append(raw).append("\n\n");
    return 0;
}

void
bd_convert_invoke_stream_exception(bd_convert_invoke_stream_t *s, const char *exception_type,
                                   json_t *payload, std::string *out, bd_convert_error_t *err)
{
    bd_convert_error_t e;

    bd_convert_bedrock_exception(exception_type, bd_convert_bedrock_error_message(payload), &e);
    bd_convert_sse_error(out, e.type, e.message.c_str());
    s->failed = true;
    if (err) {
        *err = e;
    }
}

/*
 * bd_emu_stream.cc: builds event-stream bodies (frames appended to one buffer, so a
 * stream costs no allocation per token) and sends them paced by one timer per request.
 * Runs on the loop thread that owns the request. A sender lives until its last step was
 * handed to the exchange or the client went away, whichever comes first; the exchange's
 * gone callback is the only other place that frees it.
 */
#include "tests/emulator/bd_emu.h"

#include <string.h>

#include "core/aws/bd_eventstream.h"

struct bd_emu_sender_t {
    bd_emu_xchg_t *x;
    bd_emu_stream_t *s; /* owned */
    struct event *timer;
    size_t next_step;
    size_t sent; /* bytes of s->out already handed to the exchange */
};

void
bd_emu_json_quote(std::string *out, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    out->push_back('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            out->push_back('\\');
            out->push_back((char)c);
        } else if (c == '\n') {
            out->append("\\n");
        } else if (c == '\r') {
            out->append("\\r");
        } else if (c == '\t') {
            out->append("\\t");
        } else if (c < 0x20) {
            out->append("\\u00");
            out->push_back(hex[c >> 4]);
            out->push_back(hex[c & 15]);
        } else {
            out->push_back((char)c);
        }
    }
    out->push_back('"');
}

void
bd_emu_stream_event(bd_emu_stream_t *s, const char *event_type, uint32_t delay_ms)
{
    bd_es_encode_event(event_type, s->scratch, &s->out);
    s->steps.push_back(bd_emu_step_t{(uint32_t)s->out.size(), delay_ms});
}

bool
bd_emu_stream_piece(bd_emu_stream_t *s, const bd_emu_reply_t *r)
{
    s->pieces++;
    if (r->disrupt == BD_EMU_DISRUPT_NONE || s->pieces < r->disrupt_after) {
        return false;
    }
    if (r->disrupt == BD_EMU_DISRUPT_CUT) {
        s->cut = true;
        return true;
    }
    if (r->disrupt == BD_EMU_DISRUPT_CORRUPT) {
        if (s->pieces == r->disrupt_after) {
            bd_emu_stream_corrupt(s, r->corrupt_kind);
        }
        return false; /* the rest follows: the client must not wait for it */
    }
    const bd_emu_error_t *e = bd_emu_error_by_type(r->exception_type.c_str());
    const char *msg = e != nullptr ? e->message
                                   : "The model stream was interrupted by an error.";
    s->scratch = "{\"message\":";
    bd_emu_json_quote(&s->scratch, msg, strlen(msg));
    if (strcasecmp(r->exception_type.c_str(), "modelStreamErrorException") == 0) {
        s->scratch += ",\"originalStatusCode\":500,\"originalMessage\":"
                      "\"Internal error in the model while streaming\"";
    }
    s->scratch += "}";
    bd_es_encode_exception(r->exception_type.c_str(), s->scratch, &s->out);
    s->steps.push_back(bd_emu_step_t{(uint32_t)s->out.size(), 0});
    return true;
}

/* One broken frame: an event whose payload is not JSON (valid CRCs), a frame whose
 * message CRC is wrong, or one whose prelude (with a valid CRC) claims more header
 * bytes than the frame holds. */
void
bd_emu_stream_corrupt(bd_emu_stream_t *s, const std::string &kind)
{
    std::string frame;
    if (kind == "json") {
        bd_es_encode_event("contentBlockDelta", "{\"delta\":{\"text\":\"half", &frame);
    } else {
        bd_es_encode_event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{}}", &frame);
        if (kind == "header_len") {
            uint32_t total = (uint32_t)frame.size();
            uint32_t headers = total; /* more than the frame can hold */
            unsigned char pre[8] = {(unsigned char)(total >> 24), (unsigned char)(total >> 16),
                                    (unsigned char)(total >> 8), (unsigned char)total,
                                    (unsigned char)(headers >> 24), (unsigned char)(headers >> 16),
                                    (unsigned char)(headers >> 8), (unsigned char)headers};
            uint32_t crc = bd_crc32(0, pre, sizeof(pre));
            frame.replace(4, 4, (const char *)pre + 4, 4);
            unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                                  (unsigned char)(crc >> 8), (unsigned char)crc};
            frame.replace(8, 4, (const char *)c, 4);
        } else {
            frame[frame.size() - 6] ^= 0x20; /* a payload byte: only the message CRC covers it */
        }
    }
    s->out += frame;
    s->steps.push_back(bd_emu_step_t{(uint32_t)s->out.size(), 0});
}

/* Every byte its own step, so that each frame is split at every offset on the wire. */
static void
bd_emu_stream_split_bytes(bd_emu_stream_t *s)
{
    std::vector<bd_emu_step_t> steps;
    uint32_t from = 0;
    for (const bd_emu_step_t &st : s->steps) {
        for (uint32_t i = from; i < st.end; i++) {
            steps.push_back(bd_emu_step_t{i + 1, i == from ? (st.delay_ms > 0 ? st.delay_ms : 1)
                                                           : 1});
        }
        from = st.end;
    }
    s->steps.swap(steps);
}

static void
bd_emu_sender_free(bd_emu_sender_t *sd)
{
    event_free(sd->timer);
    delete sd->s;
    delete sd;
}

/* The client went away; the exchange is freed after this returns. */
static void
bd_emu_sender_on_gone(void *arg)
{
    bd_emu_sender_free((bd_emu_sender_t *)arg);
}

/* The last step: <len> bytes at <p> end the answer, as a whole body, a cut or a last piece. */
static void
bd_emu_sender_finish(bd_emu_sender_t *sd, const char *p, size_t len)
{
    bd_emu_xchg_t *x = sd->x;
    if (sd->s->whole) {
        x->ops->reply(x, 200, p, len);
    } else if (sd->s->cut) {
        x->ops->cut(x, p, len);
    } else {
        if (len > 0) {
            x->ops->write(x, p, len);
        }
        x->ops->end(x);
    }
    bd_emu_sender_free(sd);
}

/* The timer: send every step that is due, then re-arm or finish. Loop thread. */
static void
bd_emu_sender_on_timer(evutil_socket_t fd, short events, void *arg) noexcept
{
    bd_emu_sender_t *sd = (bd_emu_sender_t *)arg;
    (void)fd;
    (void)events;
    const std::vector<bd_emu_step_t> &steps = sd->s->steps;
    size_t end = steps[sd->next_step++].end;
    while (sd->next_step < steps.size() && steps[sd->next_step].delay_ms == 0) {
        end = steps[sd->next_step++].end;
    }
    const char *p = sd->s->out.data() + sd->sent;
    size_t len = end - sd->sent;
    sd->sent = end;
    if (sd->next_step == steps.size()) {
        bd_emu_sender_finish(sd, p, len);
        return;
    }
    sd->x->ops->write(sd->x, p, len);
    uint32_t ms = steps[sd->next_step].delay_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(sd->timer, &tv);
}

static bool
bd_emu_stream_immediate(const bd_emu_stream_t *s)
{
    if (s->cut) {
        return false;
    }
    for (const bd_emu_step_t &st : s->steps) {
        if (st.delay_ms != 0) {
            return false;
        }
    }
    return true;
}

void
bd_emu_stream_send(bd_emu_xchg_t *x, bd_emu_stream_t *s, const char *content_type)
{
    bd_emu_header_add(x, "Content-Type", content_type);
    if (s->bytewise) {
        bd_emu_stream_split_bytes(s);
    }
    if (s->steps.empty() || bd_emu_stream_immediate(s)) {
        x->ops->reply(x, 200, s->out.data(), s->out.size());
        delete s;
        return;
    }
    bd_emu_sender_t *sd = new bd_emu_sender_t();
    sd->x = x;
    sd->s = s;
    sd->next_step = 0;
    sd->sent = 0;
    sd->timer = evtimer_new(x->lp->base, bd_emu_sender_on_timer, sd);
    bd_emu_xchg_watch(x, bd_emu_sender_on_gone, sd);
    if (!s->whole) {
        x->ops->start(x, 200);
    }
    uint32_t ms = s->steps[0].delay_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(sd->timer, &tv);
}

void
bd_emu_send_json_later(bd_emu_xchg_t *x, json_t *body, long delay_ms)
{
    if (delay_ms <= 0) {
        bd_emu_send_json(x, body);
        return;
    }
    bd_emu_stream_t *s = new bd_emu_stream_t();
    char *dump = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    s->out = dump != nullptr ? dump : "{}";
    free(dump);
    s->whole = true;
    s->steps.push_back(bd_emu_step_t{(uint32_t)s->out.size(), (uint32_t)delay_ms});
    bd_emu_stream_send(x, s, "application/json");
}

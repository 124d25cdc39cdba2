/*
 * bd_emu_h2.cc: the emulator's HTTP/2 server (--h2): HTTP/2 over TLS, chosen by ALPN as
 * Bedrock Runtime's endpoints do, on libnghttp2 and libevent's OpenSSL bufferevents, so
 * that clients multiplexing many calls on one connection can be tested and measured
 * here. (Cleartext h2c is left out: the libcurl of Debian 12 cannot reuse an h2c
 * prior-knowledge connection for a second request.)
 *
 * One connection is a bufferevent and an nghttp2 session; each request stream is an
 * exchange (bd_emu_h2_stream_t) routed like any HTTP/1.1 request. An answer's bytes wait
 * in the stream until nghttp2 asks for them, so flow control and a slow client hold the
 * sender back the way a full socket does on HTTP/1.1. nghttp2 may not be re-entered from
 * its own callbacks: answers given while it reads are sent once the read returns.
 * Loop thread only.
 */
#include "tests/emulator/bd_emu.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define BD_EMU_H2_MAX_BODY (32 * 1024 * 1024)
#define BD_EMU_H2_MAX_STREAMS 128         /* what ALB and many AWS front ends announce */
#define BD_EMU_H2_OUTPUT_HIGH (256 * 1024) /* stop framing while this much is unsent */

struct bd_emu_h2_conn_t;

/* One request stream and its answer. Lives until nghttp2 closes the stream. */
struct bd_emu_h2_stream_t : bd_emu_xchg_t {
    bd_emu_h2_conn_t *conn;
    int32_t id;
    std::string out; /* answer bytes nghttp2 has not taken yet, from out_pos */
    size_t out_pos;
    bool too_large;  /* the body passed BD_EMU_H2_MAX_BODY */
    bool finished;   /* reply, end or cut called: the handler is done with it */
    bool eof;        /* out holds the rest of the body */
    bool cut;        /* reset the stream once out is sent */
    bd_emu_h2_stream_t *next;
    bd_emu_h2_stream_t *prev;
};

struct bd_emu_h2_conn_t {
    bd_emu_loop_t *lp;
    struct bufferevent *bev;
    nghttp2_session *session;
    struct event *close_ev;       /* closes from a fresh callback after a fatal error */
    bd_emu_h2_stream_t *streams;  /* open streams, for the teardown */
    bool reading;                 /* inside nghttp2_session_mem_recv */
};

static void bd_emu_h2_close(bd_emu_h2_conn_t *conn);

static void
bd_emu_h2_close_later(bd_emu_h2_conn_t *conn)
{
    struct timeval tv = {0, 0};
    bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
    evtimer_add(conn->close_ev, &tv);
}

/* Frames what nghttp2 has to send into the socket's buffer. Returns -1 when the
 * session is broken, 0 when it has nothing left to do in either direction (both sides
 * are done, or a GOAWAY was exchanged and the last stream ended), 1 otherwise. */
static int
bd_emu_h2_send(bd_emu_h2_conn_t *conn)
{
    if (conn->reading) {
        return 1; /* the read sends when it returns */
    }
    if (nghttp2_session_send(conn->session) != 0) {
        return -1;
    }
    return nghttp2_session_want_read(conn->session) || nghttp2_session_want_write(conn->session);
}

/* The session is done: close once what is queued has reached the socket (on_writable
 * closes when the output is empty). Closing at once would drop the last frames, which
 * a client that sent GOAWAY early (the AWS SDK's HTTP/2 handler does) still waits for. */
static void
bd_emu_h2_finish(bd_emu_h2_conn_t *conn)
{
    if (evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0) {
        bufferevent_disable(conn->bev, EV_READ);
        return;
    }
    bd_emu_h2_close_later(conn);
}

/* Sends what nghttp2 has, then closes the connection if the session is broken or done. */
static void
bd_emu_h2_flush(bd_emu_h2_conn_t *conn)
{
    int rc = bd_emu_h2_send(conn);
    if (rc < 0) {
        bd_emu_h2_close_later(conn);
    } else if (rc == 0) {
        bd_emu_h2_finish(conn);
    }
}

/* Sends after an answer changed outside nghttp2's callbacks. The send may end <st>
 * (its last frame out, nghttp2 closes and frees it): only its connection is used. */
static void
bd_emu_h2_kick(bd_emu_h2_stream_t *st)
{
    bd_emu_h2_flush(st->conn);
}

/* ---- the answer: exchange ops ---- */

static ssize_t
bd_emu_h2_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                    uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    bd_emu_h2_stream_t *st = (bd_emu_h2_stream_t *)source->ptr;
    (void)session;
    (void)stream_id;
    (void)user_data;
    size_t n = st->out.size() - st->out_pos;
    if (n > length) {
        n = length;
    }
    memcpy(buf, st->out.data() + st->out_pos, n);
    st->out_pos += n;
    if (st->out_pos < st->out.size()) {
        return (ssize_t)n;
    }
    st->out.clear();
    st->out_pos = 0;
    if (st->eof) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (n > 0) {
        return (ssize_t)n;
    }
    /* a cut resets the stream (INTERNAL_ERROR) after its last bytes */
    return st->cut ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : NGHTTP2_ERR_DEFERRED;
}

static nghttp2_nv
bd_emu_h2_nv(const std::string &name, const std::string &value)
{
    nghttp2_nv nv;
    nv.name = (uint8_t *)name.data();
    nv.namelen = name.size();
    nv.value = (uint8_t *)value.data();
    nv.valuelen = value.size();
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    return nv;
}

/* Submits the status and headers (names in lower case, as HTTP/2 wants them), with the
 * body to follow from the stream when <body> is set. */
static void
bd_emu_h2_submit(bd_emu_h2_stream_t *st, int status, bool body)
{
    std::vector<std::pair<std::string, std::string>> h;
    h.emplace_back(":status", std::to_string(status));
    for (const auto &kv : st->out_headers) {
        std::string name = kv.first;
        for (char &c : name) {
            c = (char)tolower((unsigned char)c);
        }
        h.emplace_back(name, kv.second);
    }
    if (st->eof) {
        h.emplace_back("content-length", std::to_string(st->out.size()));
    }
    std::vector<nghttp2_nv> nva;
    for (const auto &kv : h) {
        nva.push_back(bd_emu_h2_nv(kv.first, kv.second));
    }
    nghttp2_data_provider provider;
    provider.source.ptr = st;
    provider.read_callback = bd_emu_h2_read_body;
    nghttp2_submit_response(st->conn->session, st->id, nva.data(), nva.size(),
                            body ? &provider : nullptr);
}

static void
bd_emu_h2_reply(bd_emu_xchg_t *x, int status, const char *body, size_t len)
{
    bd_emu_h2_stream_t *st = static_cast<bd_emu_h2_stream_t *>(x);
    st->out.assign(body, len);
    st->out_pos = 0;
    st->eof = true;
    st->finished = true;
    bd_emu_h2_submit(st, status, len > 0);
    bd_emu_h2_kick(st);
}

static void
bd_emu_h2_start(bd_emu_xchg_t *x, int status)
{
    bd_emu_h2_stream_t *st = static_cast<bd_emu_h2_stream_t *>(x);
    bd_emu_h2_submit(st, status, true);
    bd_emu_h2_kick(st);
}

static void
bd_emu_h2_more(bd_emu_h2_stream_t *st, const char *p, size_t len)
{
    st->out.append(p, len);
    nghttp2_session_resume_data(st->conn->session, st->id);
    bd_emu_h2_kick(st);
}

static void
bd_emu_h2_write(bd_emu_xchg_t *x, const char *p, size_t len)
{
    bd_emu_h2_more(static_cast<bd_emu_h2_stream_t *>(x), p, len);
}

static void
bd_emu_h2_end(bd_emu_xchg_t *x)
{
    bd_emu_h2_stream_t *st = static_cast<bd_emu_h2_stream_t *>(x);
    st->eof = true;
    st->finished = true;
    bd_emu_h2_more(st, "", 0);
}

static void
bd_emu_h2_cut(bd_emu_xchg_t *x, const char *p, size_t len)
{
    bd_emu_h2_stream_t *st = static_cast<bd_emu_h2_stream_t *>(x);
    st->cut = true;
    st->finished = true;
    bd_emu_h2_more(st, p, len);
}

/* Nothing to arm: the stream's close callback tells the watcher. */
static void
bd_emu_h2_watch(bd_emu_xchg_t *x)
{
    (void)x;
}

static const bd_emu_xchg_ops_t bd_emu_h2_ops = {
    bd_emu_h2_reply, bd_emu_h2_start, bd_emu_h2_write,
    bd_emu_h2_end,   bd_emu_h2_cut,   bd_emu_h2_watch,
};

/* ---- the request: nghttp2 callbacks ---- */

static void
bd_emu_h2_stream_free(bd_emu_h2_stream_t *st)
{
    bd_emu_h2_conn_t *conn = st->conn;
    if (st->prev != nullptr) {
        st->prev->next = st->next;
    } else {
        conn->streams = st->next;
    }
    if (st->next != nullptr) {
        st->next->prev = st->prev;
    }
    if (!st->finished && st->gone != nullptr) {
        st->gone(st->gone_arg);
    }
    bd_emu_control_h2_streams(-1);
    delete st;
}

static int
bd_emu_h2_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                           void *user_data)
{
    bd_emu_h2_conn_t *conn = (bd_emu_h2_conn_t *)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    bd_emu_h2_stream_t *st = new bd_emu_h2_stream_t();
    st->lp = conn->lp;
    st->ops = &bd_emu_h2_ops;
    st->gone = nullptr;
    st->gone_arg = nullptr;
    st->conn = conn;
    st->id = frame->hd.stream_id;
    st->out_pos = 0;
    st->too_large = false;
    st->finished = false;
    st->eof = false;
    st->cut = false;
    st->prev = nullptr;
    st->next = conn->streams;
    if (conn->streams != nullptr) {
        conn->streams->prev = st;
    }
    conn->streams = st;
    nghttp2_session_set_stream_user_data(session, st->id, st);
    bd_emu_control_h2_streams(1);
    return 0;
}

static int
bd_emu_h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                    void *user_data)
{
    (void)flags;
    (void)user_data;
    bd_emu_h2_stream_t *st = (bd_emu_h2_stream_t *)nghttp2_session_get_stream_user_data(
        session, frame->hd.stream_id);
    if (st == nullptr || frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    std::string n((const char *)name, namelen);
    std::string v((const char *)value, valuelen);
    if (n == ":method") {
        st->method = v;
    } else if (n == ":path") {
        st->uri = v;
    } else if (n == ":authority") {
        /* SigV4 signs it as host (curl) or as :authority (the AWS SDK's HTTP/2) */
        st->in_headers.emplace_back(":authority", v);
        st->in_headers.emplace_back("host", v);
    } else if (n == "host") {
        /* a host header besides :authority (allowed, and then it wins): one value */
        st->in_headers.erase(std::remove_if(st->in_headers.begin(), st->in_headers.end(),
                                            [](const std::pair<std::string, std::string> &h) {
                                                return h.first == "host";
                                            }),
                             st->in_headers.end());
        st->in_headers.emplace_back(n, v);
    } else if (n[0] != ':') {
        st->in_headers.emplace_back(n, v);
    }
    return 0;
}

static int
bd_emu_h2_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                  const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    bd_emu_h2_stream_t *st = (bd_emu_h2_stream_t *)nghttp2_session_get_stream_user_data(
        session, stream_id);
    if (st == nullptr || st->too_large) {
        return 0;
    }
    if (st->body.size() + len > BD_EMU_H2_MAX_BODY) {
        st->too_large = true;
        st->body.clear();
        return 0;
    }
    st->body.append((const char *)data, len);
    return 0;
}

/* A request is complete with its END_STREAM flag: route it. */
static int
bd_emu_h2_on_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
        return 0;
    }
    bd_emu_h2_stream_t *st = (bd_emu_h2_stream_t *)nghttp2_session_get_stream_user_data(
        session, frame->hd.stream_id);
    if (st == nullptr) {
        return 0;
    }
    if (st->too_large) {
        bd_emu_send_error(st, 413, "ValidationException", "Request body too large", nullptr);
        return 0;
    }
    bd_emu_route(st);
    return 0;
}

static int
bd_emu_h2_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                   void *user_data)
{
    (void)error_code;
    (void)user_data;
    bd_emu_h2_stream_t *st = (bd_emu_h2_stream_t *)nghttp2_session_get_stream_user_data(
        session, stream_id);
    if (st != nullptr) {
        bd_emu_h2_stream_free(st);
    }
    return 0;
}

/* nghttp2's frames into the socket's buffer, while it is not too full. */
static ssize_t
bd_emu_h2_on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                  void *user_data)
{
    bd_emu_h2_conn_t *conn = (bd_emu_h2_conn_t *)user_data;
    (void)session;
    (void)flags;
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    if (evbuffer_get_length(out) >= BD_EMU_H2_OUTPUT_HIGH) {
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    evbuffer_add(out, data, length);
    return (ssize_t)length;
}

/* ---- the connection ---- */

static void
bd_emu_h2_close(bd_emu_h2_conn_t *conn)
{
    while (conn->streams != nullptr) {
        bd_emu_h2_stream_free(conn->streams);
    }
    nghttp2_session_del(conn->session);
    bufferevent_free(conn->bev);
    event_free(conn->close_ev);
    delete conn;
}

static void
bd_emu_h2_on_close_ev(evutil_socket_t fd, short events, void *arg) noexcept
{
    (void)fd;
    (void)events;
    bd_emu_h2_close((bd_emu_h2_conn_t *)arg);
}

static void
bd_emu_h2_on_readable(struct bufferevent *bev, void *arg) noexcept
{
    bd_emu_h2_conn_t *conn = (bd_emu_h2_conn_t *)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    unsigned char *data = evbuffer_pullup(in, -1);
    conn->reading = true;
    ssize_t rv = nghttp2_session_mem_recv(conn->session, data, len);
    conn->reading = false;
    if (rv < 0) {
        bd_emu_h2_close(conn);
        return;
    }
    evbuffer_drain(in, len);
    bd_emu_h2_flush(conn);
}

/* The socket took what was queued: frame more. Also how the last GOAWAY gets out. */
static void
bd_emu_h2_on_writable(struct bufferevent *bev, void *arg) noexcept
{
    bd_emu_h2_conn_t *conn = (bd_emu_h2_conn_t *)arg;
    (void)bev;
    int rc = bd_emu_h2_send(conn);
    if (rc < 0 || (rc == 0 && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)) {
        bd_emu_h2_close(conn);
    }
}

static void
bd_emu_h2_on_event(struct bufferevent *bev, short events, void *arg) noexcept
{
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        bd_emu_h2_close((bd_emu_h2_conn_t *)arg);
    }
}

static nghttp2_session_callbacks *
bd_emu_h2_callbacks(void)
{
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, bd_emu_h2_on_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, bd_emu_h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, bd_emu_h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, bd_emu_h2_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, bd_emu_h2_on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, bd_emu_h2_on_close);
    return cb;
}

static void
bd_emu_h2_on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
                    int socklen, void *arg) noexcept
{
    bd_emu_loop_t *lp = (bd_emu_loop_t *)arg;
    (void)listener;
    (void)sa;
    (void)socklen;
    bd_emu_h2_conn_t *conn = new bd_emu_h2_conn_t();
    conn->lp = lp;
    conn->streams = nullptr;
    conn->reading = false;
    conn->bev = bufferevent_openssl_socket_new(lp->base, fd, SSL_new(lp->opts->tls),
                                               BUFFEREVENT_SSL_ACCEPTING,
                                               BEV_OPT_CLOSE_ON_FREE);
    bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
    conn->close_ev = evtimer_new(lp->base, bd_emu_h2_on_close_ev, conn);
    nghttp2_session_callbacks *cb = bd_emu_h2_callbacks();
    nghttp2_session_server_new(&conn->session, cb, conn);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, BD_EMU_H2_MAX_STREAMS},
    };
    nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 1);
    bufferevent_setcb(conn->bev, bd_emu_h2_on_readable, bd_emu_h2_on_writable,
                      bd_emu_h2_on_event, conn);
    bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
    if (bd_emu_h2_send(conn) <= 0) {
        bd_emu_h2_close(conn);
    }
}

/* ALPN: h2 or nothing; a client that cannot speak it fails the handshake. */
static int
bd_emu_h2_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
               const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, h2, sizeof(h2), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

struct ssl_ctx_st *
bd_emu_h2_tls(const std::string &cert, const std::string &key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "bedrock-emulator: cannot load --tls-cert %s / --tls-key %s: %s\n",
                cert.c_str(), key.c_str(), ERR_reason_error_string(ERR_get_error()));
        exit(1);
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(ctx, bd_emu_h2_alpn, nullptr);
    return ctx;
}

void
bd_emu_h2_listen(bd_emu_loop_t *lp, int fd)
{
    lp->h2 = evconnlistener_new(lp->base, bd_emu_h2_on_accept, lp,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 0, fd);
    if (lp->h2 == nullptr) {
        fprintf(stderr, "bedrock-emulator: cannot accept HTTP/2 connections\n");
        exit(1);
    }
}

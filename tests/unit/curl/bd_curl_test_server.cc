/*
 * bd_curl_test_server.cc: the evhttp upstream of the bd_curl tests. The server thread owns
 * the event_base, the evhttp and every pending job; the test thread only starts and stops it
 * (a pipe wakes the loop) and reads the atomic counters.
 */
#include "bd_curl_test_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

/* A reply that waits on a timer: a /stream in progress or a /slow answer. */
typedef struct test_job_s {
    test_server_t *srv;
    struct evhttp_request *req;
    struct event *timer;
    bool stream;
    int next, n, delay_ms, size;
} test_job_t;

struct test_server_s {
    struct event_base *base;
    struct evhttp *http;
    struct event *wake;
    int wake_fds[2];
    int port;
    SSL_CTX *ssl_ctx; /* NULL = plain HTTP */
    std::thread thread;
    std::set<test_job_t *> jobs;
    test_server_counters_t counters;
};

std::string
test_stream_piece(int i, int size)
{
    char head[32];
    int len = snprintf(head, sizeof(head), "piece-%06d:", i);
    std::string p(head, (size_t)len);

    p.append((size_t)(size - len - 1), (char)('a' + i % 26));
    p.push_back('\n');
    return p;
}

std::string
test_stream_body(int n, int size)
{
    std::string body;

    for (int i = 0; i < n; i++) {
        body += test_stream_piece(i, size);
    }
    return body;
}

static int
test_query_int(struct evhttp_request *req, const char *name, int dflt)
{
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    const char *v;
    int r = dflt;

    if (q == NULL || evhttp_parse_query_str(q, &params) != 0) {
        return dflt;
    }
    v = evhttp_find_header(&params, name);
    if (v != NULL) {
        r = atoi(v);
    }
    evhttp_clear_headers(&params);
    return r;
}

static void
test_job_free(test_job_t *j)
{
    j->srv->jobs.erase(j);
    event_free(j->timer);
    delete j;
}

/* The connection of a job's request closed before the reply ended. <arg> is the job. */
static void
test_on_job_close(struct evhttp_connection *evcon, void *arg) noexcept
{
    test_job_t *j = (test_job_t *)arg;

    (void)evcon;
    j->srv->counters.streams_aborted++;
    /* libevent detaches an unfinished request from a failed connection and leaves it to us */
    if (evhttp_request_get_connection(j->req) == NULL) {
        evhttp_request_free(j->req);
    }
    test_job_free(j);
}

static void
test_job_end(test_job_t *j)
{
    evhttp_connection_set_closecb(evhttp_request_get_connection(j->req), NULL, NULL);
    test_job_free(j);
}

static void
test_send_json(struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();

    evbuffer_add_printf(b, "{\"ok\":true}");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void
test_on_job_timer(evutil_socket_t fd, short events, void *arg) noexcept
{
    test_job_t *j = (test_job_t *)arg;
    struct timeval tv = {j->delay_ms / 1000, (j->delay_ms % 1000) * 1000};

    (void)fd;
    (void)events;
    if (!j->stream) {
        struct evhttp_request *req = j->req;

        test_job_end(j);
        test_send_json(req);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    std::string piece = test_stream_piece(j->next++, j->size);
    evbuffer_add(b, piece.data(), piece.size());
    evhttp_send_reply_chunk(j->req, b);
    evbuffer_free(b);
    if (j->next < j->n) {
        evtimer_add(j->timer, &tv);
        return;
    }
    struct evhttp_request *req = j->req;
    j->srv->counters.streams_completed++;
    test_job_end(j);
    evhttp_send_reply_end(req);
}

static test_job_t *
test_job_start(test_server_t *s, struct evhttp_request *req, bool stream)
{
    test_job_t *j = new test_job_t();
    struct timeval tv = {0, 0};

    j->srv = s;
    j->req = req;
    j->stream = stream;
    j->n = test_query_int(req, "n", 1);
    j->delay_ms = test_query_int(req, "delay_ms", 0);
    j->size = test_query_int(req, "size", 32);
    j->timer = evtimer_new(s->base, test_on_job_timer, j);
    s->jobs.insert(j);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), test_on_job_close, j);
    if (stream) {
        evhttp_send_reply_start(req, 200, "OK");
    } else {
        tv.tv_sec = j->delay_ms / 1000;
        tv.tv_usec = (j->delay_ms % 1000) * 1000;
    }
    evtimer_add(j->timer, &tv);
    return j;
}

static const char *
test_method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

static void
test_echo(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    const char *test = evhttp_find_header(in, "X-Test");
    const char *expect = evhttp_find_header(in, "Expect");

    evhttp_add_header(out, "X-Echo-Method", test_method_name(evhttp_request_get_command(req)));
    evhttp_add_header(out, "X-Echo-Content-Type", ct != NULL ? ct : "none");
    evhttp_add_header(out, "X-Echo-Test", test != NULL ? test : "none");
    evhttp_add_header(out, "X-Echo-Expect", expect != NULL ? expect : "none");
    evhttp_add_header(out, "X-Echo-Target", evhttp_request_get_uri(req));
    evhttp_send_reply(req, 200, "OK", evhttp_request_get_input_buffer(req));
}

/* Every request; <arg> is the test_server_t. */
static void
test_on_request(struct evhttp_request *req, void *arg) noexcept
{
    test_server_t *s = (test_server_t *)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    s->counters.requests++;
    if (path == NULL) {
        evhttp_send_error(req, 400, NULL);
    } else if (strcmp(path, "/json") == 0) {
        int idle_close_ms = test_query_int(req, "idle_close_ms", 0);
        if (idle_close_ms > 0) {
            /* an upstream's keep-alive timeout: the connection closes once idle that long */
            struct timeval tv = {idle_close_ms / 1000, (idle_close_ms % 1000) * 1000};
            evhttp_connection_set_timeout_tv(evhttp_request_get_connection(req), &tv);
        }
        test_send_json(req);
    } else if (strcmp(path, "/echo") == 0) {
        test_echo(req);
    } else if (strcmp(path, "/stream") == 0) {
        test_job_start(s, req, true);
    } else if (strcmp(path, "/slow") == 0) {
        test_job_start(s, req, false);
    } else if (strcmp(path, "/never") == 0) {
        evtimer_del(test_job_start(s, req, false)->timer); /* held until the client leaves */
    } else {
        evhttp_send_error(req, 404, NULL);
    }
}

/* A new connection: counted, then given the usual socket bufferevent. */
static struct bufferevent *
test_on_connection(struct event_base *base, void *arg) noexcept
{
    test_server_t *s = (test_server_t *)arg;

    s->counters.connections++;
    if (s->ssl_ctx != NULL) {
        return bufferevent_openssl_socket_new(base, -1, SSL_new(s->ssl_ctx),
                                              BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    }
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void
test_on_wake(evutil_socket_t fd, short events, void *arg) noexcept
{
    (void)fd;
    (void)events;
    event_base_loopbreak((struct event_base *)arg);
}

test_server_t *
test_server_start(void)
{
    return test_server_start_tls(NULL, NULL);
}

test_server_t *
test_server_start_tls(const char *cert_file, const char *key_file)
{
    test_server_t *s = new test_server_t();
    struct evhttp_bound_socket *bound;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    if (cert_file != NULL) {
        s->ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (SSL_CTX_use_certificate_file(s->ssl_ctx, cert_file, SSL_FILETYPE_PEM) != 1
            || SSL_CTX_use_PrivateKey_file(s->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1) {
            abort();
        }
    }
    s->base = event_base_new();
    s->http = evhttp_new(s->base);
    evhttp_set_gencb(s->http, test_on_request, s);
    evhttp_set_bevcb(s->http, test_on_connection, s);
    bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    if (bound == NULL || pipe(s->wake_fds) != 0) {
        abort();
    }
    getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &slen);
    s->port = ntohs(sin.sin_port);
    s->wake = event_new(s->base, s->wake_fds[0], EV_READ, test_on_wake, s->base);
    event_add(s->wake, NULL);
    s->thread = std::thread([s] { event_base_dispatch(s->base); });
    return s;
}

void
test_server_stop(test_server_t *s)
{
    char c = 'x';

    if (write(s->wake_fds[1], &c, 1) != 1) {
        abort();
    }
    s->thread.join();
    while (!s->jobs.empty()) {
        test_job_t *j = *s->jobs.begin();

        evhttp_connection_set_closecb(evhttp_request_get_connection(j->req), NULL, NULL);
        test_job_free(j);
    }
    evhttp_free(s->http);
    event_free(s->wake);
    event_base_free(s->base);
    SSL_CTX_free(s->ssl_ctx);
    close(s->wake_fds[0]);
    close(s->wake_fds[1]);
    delete s;
}

int
test_server_port(const test_server_t *s)
{
    return s->port;
}

test_server_counters_t *
test_server_counters(test_server_t *s)
{
    return &s->counters;
}

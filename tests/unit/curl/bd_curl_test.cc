/*
 * bd_curl_test.cc: the upstream client against a real HTTP server in this process. The test
 * thread owns the client's event_base and drives it until a transfer ends or a safety limit
 * passes; the server runs on its own thread (bd_curl_test_server.h).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bd_curl_test_server.h"
#include "core/bd_curl.h"

namespace
{

/* What one transfer saw. */
struct rec_t {
    bd_curl_xfer_t *x = nullptr;
    bool done = false;
    bd_curl_result_e code = BD_CURL_ERROR;
    long status = -1;
    std::string message;
    int header_calls = 0;
    int data_calls = 0;
    std::string body;
    std::string content_type, echo_method, echo_ct, echo_test, echo_expect, echo_target;
    /* pause scripting */
    size_t window = 0; /* on_data pauses when the window would pass this; 0 = never */
    size_t window_used = 0;
    bool awaiting_redelivery = false;
    std::string paused_bytes;
    int pauses = 0;
    int redelivery_mismatches = 0;
    int calls_at_resume = 0;
    bool pause_in_headers = false;
    /* cancel / abort scripting */
    int cancel_after_calls = 0; /* cancel inside on_data at this call; 0 = never */
    int abort_after_calls = 0;  /* return ABORT at this call; 0 = never */
    int pause_api_at_call = 0;  /* bd_curl_xfer_pause() inside on_data at this call */
    int calls_after_cancel = 0;
    bool canceled = false;
    /* chaining */
    int remaining = 0; /* sequential requests still to start from on_done */
    struct fixture_t *f = nullptr;
    rec_t *child = nullptr; /* started from on_headers */
};

std::string
value_of(const bd_curl_headers_t *h, const char *name)
{
    const char *v = bd_curl_headers_get(h, name, nullptr);
    return v != nullptr ? v : "(absent)";
}

int
rec_on_headers(bd_curl_xfer_t *x, long status, const bd_curl_headers_t *h)
{
    rec_t *r = (rec_t *)bd_curl_xfer_data(x);

    if (r->canceled) {
        r->calls_after_cancel++;
    }
    r->header_calls++;
    r->status = status;
    r->content_type = value_of(h, "content-type");
    r->echo_method = value_of(h, "X-ECHO-METHOD");
    r->echo_ct = value_of(h, "x-echo-content-type");
    r->echo_test = value_of(h, "X-Echo-Test");
    r->echo_expect = value_of(h, "x-echo-expect");
    r->echo_target = value_of(h, "x-echo-target");
    return r->pause_in_headers ? BD_CURL_PAUSE : BD_CURL_CONTINUE;
}

int
rec_on_data(bd_curl_xfer_t *x, const char *p, size_t len)
{
    rec_t *r = (rec_t *)bd_curl_xfer_data(x);

    if (r->canceled) {
        r->calls_after_cancel++;
    }
    r->data_calls++;
    if (r->awaiting_redelivery) {
        /* the first call after a resume starts with the bytes refused before */
        size_t n = std::min(len, r->paused_bytes.size());
        if (std::string(p, n) != r->paused_bytes.substr(0, n)) {
            r->redelivery_mismatches++;
        }
        r->awaiting_redelivery = false;
    }
    if (r->window > 0 && r->window_used > 0 && r->window_used + len > r->window) {
        r->pauses++;
        r->paused_bytes.assign(p, std::min<size_t>(len, 256));
        r->awaiting_redelivery = true;
        return BD_CURL_PAUSE;
    }
    r->window_used += len;
    r->body.append(p, len);
    if (r->abort_after_calls > 0 && r->data_calls == r->abort_after_calls) {
        return BD_CURL_ABORT;
    }
    if (r->pause_api_at_call > 0 && r->data_calls == r->pause_api_at_call) {
        bd_curl_xfer_pause(x); /* these bytes are consumed; the following ones wait */
    }
    if (r->cancel_after_calls > 0 && r->data_calls == r->cancel_after_calls) {
        r->canceled = true;
        bd_curl_xfer_cancel(x);
    }
    return BD_CURL_CONTINUE;
}

void rec_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *res);

const bd_curl_handlers_t rec_handlers = {rec_on_headers, rec_on_data, rec_on_done};

struct fixture_t : public ::testing::Test {
    struct event_base *base = nullptr;
    bd_curl_t *c = nullptr;
    test_server_t *srv = nullptr;
    bool expired = false;
    std::string url_base;

    static void
    SetUpTestSuite()
    {
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);
    }

    static void
    TearDownTestSuite()
    {
        curl_global_cleanup();
    }

    void
    SetUp() override
    {
        base = event_base_new();
        ASSERT_NE(base, nullptr);
        c = bd_curl_create(base, nullptr);
        ASSERT_NE(c, nullptr);
        srv = test_server_start();
        url_base = "http://127.0.0.1:" + std::to_string(test_server_port(srv));
    }

    void
    TearDown() override
    {
        bd_curl_destroy(c);
        test_server_stop(srv);
        event_base_free(base);
    }

    test_server_counters_t *
    counters()
    {
        return test_server_counters(srv);
    }

    bd_curl_xfer_t *
    start(rec_t *r, const bd_curl_request_t &req)
    {
        r->f = this;
        r->x = bd_curl_xfer_start(c, &req, &rec_handlers, r);
        return r->x;
    }

    bd_curl_xfer_t *
    get(rec_t *r, const std::string &path)
    {
        bd_curl_request_t req = {};
        std::string url = url_base + path;

        req.url = url.c_str();
        req.first_byte_timeout_ms = 10000;
        req.total_timeout_ms = 30000;
        return start(r, req);
    }

    static void
    on_expire(evutil_socket_t, short, void *arg) noexcept
    {
        ((fixture_t *)arg)->expired = true;
    }

    static void
    on_poll(evutil_socket_t, short, void *) noexcept
    {
    }

    /* Runs the client loop until <pred> holds or <limit_ms> pass; a 5 ms poll lets <pred>
     * watch the server thread's counters too. Returns <pred>. */
    template <typename P>
    bool
    run_until(P pred, int limit_ms = 10000)
    {
        struct timeval limit = {limit_ms / 1000, (limit_ms % 1000) * 1000};
        struct timeval poll = {0, 5000};
        struct event *ev = evtimer_new(base, on_expire, this);
        struct event *pe = event_new(base, -1, EV_PERSIST, on_poll, nullptr);

        expired = false;
        evtimer_add(ev, &limit);
        event_add(pe, &poll);
        while (!pred() && !expired) {
            event_base_loop(base, EVLOOP_ONCE);
        }
        event_free(ev);
        event_free(pe);
        return pred();
    }

    bool
    run_until_done(rec_t *r, int limit_ms = 10000)
    {
        return run_until([r] { return r->done; }, limit_ms);
    }

    /* Runs the loop for <ms> whatever happens; used to give forbidden callbacks a chance. */
    void
    run_for(int ms)
    {
        run_until([] { return false; }, ms);
    }

    bd_curl_stats_t
    stats()
    {
        bd_curl_stats_t s;
        bd_curl_stats(c, &s);
        return s;
    }
};

void
rec_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *res)
{
    rec_t *r = (rec_t *)bd_curl_xfer_data(x);

    if (r->canceled) {
        r->calls_after_cancel++;
    }
    r->done = true;
    r->code = res->code;
    r->status = res->http_status;
    r->message = res->message;
    if (r->remaining > 0 && res->code == BD_CURL_OK) {
        /* start the next request from on_done, where curl is not on the stack */
        r->remaining--;
        r->done = false;
        r->body.clear();
        r->f->get(r, "/json");
    }
}

/* Calls a function from the client loop, outside every curl callback. */
struct later_t {
    struct event *ev = nullptr;
    void (*fn)(rec_t *) = nullptr;
    rec_t *r = nullptr;
    bool fired = false;

    static void
    on_fire(evutil_socket_t, short, void *arg) noexcept
    {
        later_t *l = (later_t *)arg;
        l->fired = true;
        l->fn(l->r);
    }

    void
    arm(struct event_base *base, int ms, void (*f)(rec_t *), rec_t *rr)
    {
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        if (ev == nullptr) {
            ev = evtimer_new(base, on_fire, this);
        }
        fn = f;
        r = rr;
        fired = false;
        evtimer_add(ev, &tv);
    }

    ~later_t()
    {
        if (ev != nullptr) {
            event_free(ev);
        }
    }
};

using CurlTest = fixture_t;

TEST_F(CurlTest, GetJson)
{
    rec_t r;

    ASSERT_NE(get(&r, "/json"), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"ok\":true}");
    EXPECT_EQ(r.header_calls, 1);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.message, "");
    bd_curl_stats_t s = stats();
    EXPECT_EQ(s.started, 1u);
    EXPECT_EQ(s.completed, 1u);
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.connections_created, 1u);
}

TEST_F(CurlTest, PostSendsBodyAndHeaders)
{
    rec_t r;
    std::string url = url_base + "/echo";
    bd_curl_header_t headers[] = {{"X-Test", "abc def"}};
    const char body[] = "{\"hello\":\"world\"}";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.headers = headers;
    req.nheaders = 1;
    req.content_type = "application/json";
    req.body = body;
    req.body_len = sizeof(body) - 1;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(r.echo_method, "POST");
    EXPECT_EQ(r.echo_ct, "application/json");
    EXPECT_EQ(r.echo_test, "abc def");
    EXPECT_EQ(r.echo_expect, "none");
}

TEST_F(CurlTest, BodyWithoutContentTypeSendsNone)
{
    rec_t r;
    std::string url = url_base + "/echo";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.method = "PUT";
    req.body = "x=1";
    req.body_len = 3;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.echo_method, "PUT");
    EXPECT_EQ(r.echo_ct, "none");
    EXPECT_EQ(r.body, "x=1");
}

/* POSTs <body> to /echo and checks it comes back whole. */
static void
ExpectEchoed(fixture_t *f, rec_t *r, const std::string &body)
{
    std::string url = f->url_base + "/echo";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.content_type = "application/octet-stream";
    req.body = body.data();
    req.body_len = body.size();
    ASSERT_NE(f->start(r, req), nullptr);
    ASSERT_TRUE(f->run_until_done(r, 30000));
    EXPECT_EQ(r->code, BD_CURL_OK) << r->message;
    EXPECT_EQ(r->body.size(), body.size());
    EXPECT_TRUE(r->body == body);
}

TEST_F(CurlTest, LargeBodyEchoedWithoutExpect)
{
    rec_t r;
    std::string body;

    for (int i = 0; body.size() < 4 * 1024 * 1024; i++) {
        body += std::to_string(i) + ",";
    }
    ExpectEchoed(this, &r, body);
    EXPECT_EQ(r.echo_expect, "none");
}

TEST_F(CurlTest, BodyInPiecesArrivesJoined)
{
    rec_t r;
    std::string url = url_base + "/echo";
    std::string head = "{\"data\":\"", tail = "\"}";
    std::string image(3 * 1024 * 1024 + 7, 'A');
    for (size_t i = 0; i < image.size(); i += 4093) {
        image[i] = (char)('a' + i % 26);
    }
    struct iovec iov[] = {{&head[0], head.size()}, {&tail[0], 0}, {&image[0], image.size()},
                          {&tail[0], tail.size()}};
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.content_type = "application/json";
    req.body_iov = iov;
    req.body_iovcnt = 4;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r, 30000));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.echo_expect, "none");
    EXPECT_TRUE(r.body == head + image + tail);
}

TEST_F(CurlTest, HeaderWithLineBreakIsRefused)
{
    rec_t r;
    std::string url = url_base + "/json";
    bd_curl_header_t headers[] = {{"X-Test", "a\r\nX-Injected: 1"}};
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.headers = headers;
    req.nheaders = 1;
    EXPECT_EQ(start(&r, req), nullptr);
    EXPECT_EQ(stats().started, 0u);
    EXPECT_EQ(stats().in_flight, 0u);
}

TEST_F(CurlTest, KeepAliveReusesConnections)
{
    rec_t r;

    r.remaining = 99;
    ASSERT_NE(get(&r, "/json"), nullptr);
    ASSERT_TRUE(run_until([&r] { return r.done && r.remaining == 0; }, 30000));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(counters()->requests.load(), 100);
    EXPECT_LE(counters()->connections.load(), 2);
    bd_curl_stats_t s = stats();
    EXPECT_EQ(s.completed, 100u);
    EXPECT_LE(s.connections_created, 2u);
    EXPECT_GE(s.connections_reused, 98u);
}

/* A connection idle in curl's cache keeps its read event (no epoll change per transfer);
 * when the upstream closes it, that event fires once and is dropped, and the next
 * transfer opens a new connection. */
TEST_F(CurlTest, AnIdleConnectionTheUpstreamClosesIsSeenOnceAndReplaced)
{
    rec_t first;
    ASSERT_NE(get(&first, "/json?idle_close_ms=100"), nullptr);
    ASSERT_TRUE(run_until_done(&first));
    EXPECT_EQ(first.code, BD_CURL_OK) << first.message;
    ASSERT_TRUE(run_until([this] { return stats().idle_woken == 1; }));
    run_for(200); /* a closed socket still watched would wake the loop without end */
    EXPECT_EQ(stats().idle_woken, 1u);

    rec_t second;
    ASSERT_NE(get(&second, "/json"), nullptr);
    ASSERT_TRUE(run_until_done(&second));
    EXPECT_EQ(second.code, BD_CURL_OK) << second.message;
    EXPECT_EQ(second.body, "{\"ok\":true}");
    EXPECT_EQ(counters()->connections.load(), 2);
    EXPECT_EQ(stats().connections_created, 2u);

    /* the new connection, reused while its event stays added */
    rec_t third;
    third.remaining = 9;
    ASSERT_NE(get(&third, "/json"), nullptr);
    ASSERT_TRUE(run_until([&third] { return third.done && third.remaining == 0; }));
    EXPECT_EQ(third.code, BD_CURL_OK) << third.message;
    EXPECT_EQ(counters()->connections.load(), 2);
    EXPECT_EQ(stats().idle_woken, 1u);
}

/* One easy handle, reused: each request goes where its own URL says, never to the URL
 * its handle parsed for the request before (the handle keeps that URL parsed). */
TEST_F(CurlTest, AReusedHandleSendsEachRequestToItsOwnUrl)
{
    const char *paths[] = {"/echo?a=1", "/echo?a=1", "/echo/x%3Ay?b=2", "/echo?a=1", "/json"};

    for (const char *path : paths) {
        rec_t r;
        ASSERT_NE(get(&r, path), nullptr);
        ASSERT_TRUE(run_until_done(&r));
        EXPECT_EQ(r.code, BD_CURL_OK) << path << ": " << r.message;
        if (strcmp(path, "/json") == 0) {
            EXPECT_EQ(r.body, "{\"ok\":true}");
        } else if (strncmp(path, "/echo?", 6) == 0) {
            EXPECT_EQ(r.status, 200) << path;
            EXPECT_EQ(r.echo_target, path);
        } else {
            EXPECT_EQ(r.status, 404) << path; /* reached the server with its own path */
        }
    }
    /* a URL libcurl cannot parse gets libcurl's error, and the handle goes on */
    rec_t bad;
    bd_curl_request_t req = {};
    req.url = "http://[127.0.0.1/echo";
    if (start(&bad, req) != nullptr) {
        ASSERT_TRUE(run_until_done(&bad));
        EXPECT_NE(bad.code, BD_CURL_OK);
    }
    rec_t after;
    ASSERT_NE(get(&after, "/echo?c=3"), nullptr);
    ASSERT_TRUE(run_until_done(&after));
    EXPECT_EQ(after.echo_target, "/echo?c=3");
}

TEST_F(CurlTest, FiftyConcurrentStreams)
{
    std::vector<rec_t> recs(50);
    std::string expected = test_stream_body(5, 64);

    for (rec_t &r : recs) {
        ASSERT_NE(get(&r, "/stream?n=5&delay_ms=2&size=64"), nullptr);
    }
    EXPECT_EQ(stats().in_flight, 50u);
    ASSERT_TRUE(run_until(
        [&recs] {
            for (const rec_t &r : recs) {
                if (!r.done) {
                    return false;
                }
            }
            return true;
        },
        30000));
    for (const rec_t &r : recs) {
        EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
        EXPECT_EQ(r.body, expected);
    }
    EXPECT_EQ(stats().in_flight, 0u);
    EXPECT_EQ(stats().completed, 50u);
}

/* Runs /stream?n=N&delay_ms=D&size=S to its end (through a <recv_buffer> if > 0)
 * and checks every byte arrived in order. */
static void
ExpectWholeStream(fixture_t *f, rec_t *r, int n, int delay_ms, int size, long recv_buffer)
{
    std::string url = f->url_base + "/stream?n=" + std::to_string(n) +
                      "&delay_ms=" + std::to_string(delay_ms) + "&size=" + std::to_string(size);
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.first_byte_timeout_ms = 5000;
    req.idle_timeout_ms = 5000;
    req.recv_buffer = recv_buffer;
    ASSERT_NE(f->start(r, req), nullptr);
    ASSERT_TRUE(f->run_until_done(r));
    EXPECT_EQ(r->code, BD_CURL_OK) << r->message;
    EXPECT_EQ(r->body, test_stream_body(n, size));
}

TEST_F(CurlTest, StreamArrivesInOrder)
{
    rec_t r;
    ExpectWholeStream(this, &r, 20, 3, 100, 0);
    EXPECT_GT(r.data_calls, 1);
}

/* A stream read through a 1 KiB buffer gets its 5,000-byte pieces whole, in pieces of
 * at most 1 KiB; the next transfer on the recycled handle reads a large answer with
 * curl's own buffer again (curl allocates the buffer per transfer). */
TEST_F(CurlTest, SmallReceiveBufferThenTheDefaultOnTheSameHandle)
{
    rec_t r;
    ExpectWholeStream(this, &r, 10, 0, 5000, 1024);
    EXPECT_GE(r.data_calls, 49); /* 50,000 bytes, 1 KiB at a time at most */

    rec_t big;
    ExpectEchoed(this, &big, std::string(1024 * 1024, 'x'));
    EXPECT_LT(big.data_calls, 1024); /* read in curl's 16 KiB, not 1 KiB */
}

void
resume_window(rec_t *r)
{
    r->window_used = 0;
    r->calls_at_resume = r->data_calls;
    bd_curl_xfer_resume(r->x);
}

/* Above a 16 KiB window on_data refuses bytes; a timer empties the window and resumes. */
TEST_F(CurlTest, PauseOverLimitThenResumeDeliversEveryByteOnce)
{
    rec_t r;
    later_t later;
    const int n = 60, size = 4000;

    r.window = 16 * 1024;
    ASSERT_NE(get(&r, "/stream?n=60&delay_ms=0&size=4000"), nullptr);
    while (!r.done) {
        ASSERT_TRUE(run_until([&r] { return r.done || r.awaiting_redelivery; }));
        if (r.done) {
            break;
        }
        /* paused: nothing may arrive until the resume */
        int calls = r.data_calls;
        later.arm(base, 5, resume_window, &r);
        ASSERT_TRUE(run_until([&later] { return later.fired; }));
        EXPECT_EQ(r.calls_at_resume, calls);
        ASSERT_TRUE(run_until([&r, calls] { return r.done || r.data_calls > calls; }));
    }
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_GE(r.pauses, 3);
    EXPECT_EQ(r.redelivery_mismatches, 0);
    EXPECT_EQ(r.body.size(), (size_t)(n * size));
    EXPECT_TRUE(r.body == test_stream_body(n, size));
}

void
resume_only(rec_t *r)
{
    bd_curl_xfer_resume(r->x);
}

/* Paused from on_headers until the server has sent everything: no byte is delivered while
 * paused, the transfer does not end while paused, and all of it arrives after the resume. */
TEST_F(CurlTest, PausedTransferHoldsCompleteResponse)
{
    rec_t r;
    later_t later;

    r.pause_in_headers = true;
    ASSERT_NE(get(&r, "/stream?n=10&delay_ms=0&size=200"), nullptr);
    ASSERT_TRUE(run_until([this] { return counters()->streams_completed.load() == 1; }));
    run_for(50);
    EXPECT_EQ(r.header_calls, 1);
    EXPECT_EQ(r.data_calls, 0);
    EXPECT_FALSE(r.done);
    later.arm(base, 0, resume_only, &r);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.body, test_stream_body(10, 200));
}

void
pause_only(rec_t *r)
{
    bd_curl_xfer_pause(r->x);
}

/* A pause longer than idle_timeout_ms is the caller's doing, not upstream silence. */
TEST_F(CurlTest, PauseFromOutsideStopsIdleTimer)
{
    rec_t r;
    later_t later;
    std::string url = url_base + "/stream?n=30&delay_ms=2&size=64";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.idle_timeout_ms = 100;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until([&r] { return r.data_calls >= 2 || r.done; }));
    pause_only(&r);
    int calls = r.data_calls;
    run_for(300);
    EXPECT_FALSE(r.done) << r.message;
    EXPECT_EQ(r.data_calls, calls);
    later.arm(base, 0, resume_only, &r);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.body, test_stream_body(30, 64));
}

/* bd_curl_xfer_pause() inside on_data keeps the bytes of that call and holds the rest. */
TEST_F(CurlTest, PauseInsideOnDataKeepsCurrentBytes)
{
    rec_t r;
    later_t later;

    r.pause_api_at_call = 2;
    ASSERT_NE(get(&r, "/stream?n=40&delay_ms=1&size=500"), nullptr);
    ASSERT_TRUE(run_until([&r] { return r.data_calls >= 2 || r.done; }));
    ASSERT_FALSE(r.done);
    run_for(100);
    EXPECT_EQ(r.data_calls, 2);
    later.arm(base, 0, resume_only, &r);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_TRUE(r.body == test_stream_body(40, 500));
}

void
cancel_now(rec_t *r)
{
    r->canceled = true;
    bd_curl_xfer_cancel(r->x);
}

TEST_F(CurlTest, CancelFromLoopStopsCallbacksAndClosesConnection)
{
    rec_t r;
    later_t later;

    ASSERT_NE(get(&r, "/stream?n=100000&delay_ms=2&size=64"), nullptr);
    ASSERT_TRUE(run_until([&r] { return r.data_calls >= 3; }));
    later.arm(base, 0, cancel_now, &r);
    ASSERT_TRUE(run_until([&later] { return later.fired; }));
    EXPECT_EQ(stats().in_flight, 0u);
    EXPECT_EQ(stats().canceled, 1u);
    ASSERT_TRUE(run_until([this] { return counters()->streams_aborted.load() == 1; }));
    run_for(20);
    EXPECT_EQ(r.calls_after_cancel, 0);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(stats().completed, 0u);
}

TEST_F(CurlTest, CancelInsideOnDataStopsCallbacksAndClosesConnection)
{
    rec_t r;

    r.cancel_after_calls = 3;
    ASSERT_NE(get(&r, "/stream?n=100000&delay_ms=2&size=64"), nullptr);
    ASSERT_TRUE(run_until([this] { return counters()->streams_aborted.load() == 1; }));
    run_for(20);
    EXPECT_EQ(r.data_calls, 3);
    EXPECT_EQ(r.calls_after_cancel, 0);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(stats().in_flight, 0u);
    EXPECT_EQ(stats().canceled, 1u);
}

TEST_F(CurlTest, AbortFromOnDataEndsCanceled)
{
    rec_t r;

    r.abort_after_calls = 2;
    ASSERT_NE(get(&r, "/stream?n=100000&delay_ms=2&size=64"), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_CANCELED);
    EXPECT_EQ(r.data_calls, 2);
    EXPECT_EQ(r.status, 200);
    ASSERT_TRUE(run_until([this] { return counters()->streams_aborted.load() == 1; }));
}

int
start_child_on_headers(bd_curl_xfer_t *x, long status, const bd_curl_headers_t *h)
{
    rec_t *r = (rec_t *)bd_curl_xfer_data(x);

    (void)status;
    (void)h;
    r->header_calls++;
    r->f->get(r->child, "/stream?n=3&delay_ms=1&size=32");
    return r->child->x != nullptr ? BD_CURL_CONTINUE : BD_CURL_ABORT;
}

/* A transfer started inside a curl callback waits for curl to return, then runs. */
TEST_F(CurlTest, StartInsideCallback)
{
    rec_t parent, child;
    bd_curl_handlers_t h = {start_child_on_headers, rec_on_data, rec_on_done};
    std::string url = url_base + "/json";
    bd_curl_request_t req = {};

    parent.child = &child;
    parent.f = this;
    req.url = url.c_str();
    ASSERT_NE(bd_curl_xfer_start(c, &req, &h, &parent), nullptr);
    ASSERT_TRUE(run_until([&] { return parent.done && child.done; }));
    EXPECT_EQ(parent.code, BD_CURL_OK) << parent.message;
    EXPECT_EQ(child.code, BD_CURL_OK) << child.message;
    EXPECT_EQ(child.body, test_stream_body(3, 32));
}

int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {};
    socklen_t len = sizeof(sin);

    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

TEST_F(CurlTest, ConnectRefused)
{
    rec_t r;
    std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/json";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.connect_timeout_ms = 5000;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_CONNECT_FAILED) << r.message;
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.header_calls, 0);
    EXPECT_NE(r.message, "");
}

/* A listener whose accept queue is full drops SYNs, so connects to it hang. */
struct full_listener_t {
    int lfd = -1;
    std::vector<int> fds;
    int port = 0;

    full_listener_t()
    {
        struct sockaddr_in sin = {};
        socklen_t len = sizeof(sin);

        lfd = socket(AF_INET, SOCK_STREAM, 0);
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(lfd, (struct sockaddr *)&sin, sizeof(sin));
        listen(lfd, 0);
        getsockname(lfd, (struct sockaddr *)&sin, &len);
        port = ntohs(sin.sin_port);
        for (int i = 0; i < 3; i++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            connect(fd, (struct sockaddr *)&sin, sizeof(sin));
            fds.push_back(fd);
        }
    }

    ~full_listener_t()
    {
        for (int fd : fds) {
            close(fd);
        }
        close(lfd);
    }
};

TEST_F(CurlTest, ConnectTimeout)
{
    rec_t r;
    full_listener_t full;
    std::string url = "http://127.0.0.1:" + std::to_string(full.port) + "/json";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.connect_timeout_ms = 200;
    req.total_timeout_ms = 5000;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_TIMEOUT_CONNECT) << r.message;
    EXPECT_EQ(r.header_calls, 0);
}

TEST_F(CurlTest, FirstByteTimeout)
{
    rec_t r;
    std::string url = url_base + "/slow?delay_ms=20000";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.first_byte_timeout_ms = 100;
    req.idle_timeout_ms = 20000;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_TIMEOUT_FIRST_BYTE) << r.message;
    EXPECT_EQ(r.header_calls, 0);
    EXPECT_EQ(r.status, 0);
}

TEST_F(CurlTest, IdleTimeoutBetweenChunks)
{
    rec_t r;
    std::string url = url_base + "/stream?n=3&delay_ms=20000&size=64";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.first_byte_timeout_ms = 5000;
    req.idle_timeout_ms = 100;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_TIMEOUT_IDLE) << r.message;
    EXPECT_EQ(r.header_calls, 1);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, test_stream_piece(0, 64));
}

TEST_F(CurlTest, TotalTimeout)
{
    rec_t r;
    std::string url = url_base + "/never";
    bd_curl_request_t req = {};

    req.url = url.c_str();
    req.connect_timeout_ms = 5000;
    req.total_timeout_ms = 200;
    ASSERT_NE(start(&r, req), nullptr);
    ASSERT_TRUE(run_until_done(&r));
    EXPECT_EQ(r.code, BD_CURL_TIMEOUT_TOTAL) << r.message;
    EXPECT_NE(r.message, "");
}

TEST_F(CurlTest, DestroyCancelsInFlightSilently)
{
    rec_t a, b;

    a.canceled = b.canceled = true; /* any callback from here on counts as a fault */
    ASSERT_NE(get(&a, "/stream?n=100000&delay_ms=2&size=64"), nullptr);
    ASSERT_NE(get(&b, "/never"), nullptr);
    ASSERT_TRUE(run_until([this] { return counters()->requests.load() == 2; }));
    int calls = a.calls_after_cancel + b.calls_after_cancel;
    bd_curl_destroy(c);
    c = bd_curl_create(base, nullptr);
    run_for(20);
    EXPECT_EQ(a.calls_after_cancel + b.calls_after_cancel, calls);
    EXPECT_FALSE(a.done);
    EXPECT_FALSE(b.done);
    ASSERT_TRUE(run_until([this] { return counters()->streams_aborted.load() == 1; }));
}

TEST(CurlResult, Names)
{
    EXPECT_STREQ(bd_curl_result_name(BD_CURL_OK), "ok");
    EXPECT_STREQ(bd_curl_result_name(BD_CURL_TIMEOUT_IDLE), "timeout idle");
    EXPECT_STREQ(bd_curl_result_name(BD_CURL_ERROR), "error");
}

} // namespace

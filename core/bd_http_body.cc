/*
 * bd_http_body.cc: a large request body read straight into one buffer (see
 * bd_http_body.h).
 */
#include "core/bd_http_body.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

struct bd_http_body_read_t {
    struct bufferevent *bev;
    struct event *ev;
    char *buf;     /* <length> bytes; evhttp's once handed over */
    size_t length;
    size_t got;
    bd_http_body_hooks_t hooks;
};

static void
bd_http_body_unref(const void *data, size_t, void *) noexcept
{
    free(const_cast<void *>(data));
}

/* The body is whole: it becomes the input's only chain, and evhttp is told. */
static void
bd_http_body_hand_over(bd_http_body_read_t *b)
{
    struct bufferevent *bev = b->bev;
    struct evbuffer *in = bufferevent_get_input(bev);
    /* a socket bufferevent keeps its input's end frozen to all but its own reads */
    evbuffer_unfreeze(in, 0);
    int rc = evbuffer_add_reference(in, b->buf, b->length, bd_http_body_unref, nullptr);
    evbuffer_freeze(in, 0);
    if (rc != 0) {
        b->hooks.fail(b->hooks.arg, BD_HTTP_BODY_NOMEM);
        return;
    }
    b->buf = nullptr;
    bd_http_body_hooks_t hooks = b->hooks;
    bd_http_body_read_free(b);
    hooks.done(hooks.arg);
    /* evhttp's read callback finds the whole body and calls the handler */
    bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

static void
bd_http_body_on_read(evutil_socket_t fd, short what, void *arg) noexcept
{
    bd_http_body_read_t *b = (bd_http_body_read_t *)arg;
    if (what & EV_TIMEOUT) {
        b->hooks.fail(b->hooks.arg, BD_HTTP_BODY_IDLE);
        return;
    }
    /* one read per wake-up, of everything still missing: never past the body, so
     * a pipelined request stays in the socket for evhttp */
    ssize_t n = recv(fd, b->buf + b->got, b->length - b->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        b->hooks.fail(b->hooks.arg, BD_HTTP_BODY_CLOSED);
        return;
    }
    b->got += (size_t)n;
    if (b->hooks.progress != nullptr) {
        *b->hooks.progress += (uint64_t)n;
    }
    if (b->got == b->length) {
        bd_http_body_hand_over(b);
    }
}

bd_http_body_read_t *
bd_http_body_read_start(struct bufferevent *bev, size_t length, int64_t idle_timeout_ms,
                        const bd_http_body_hooks_t *hooks)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (fd < 0 || length == 0 || have >= length) {
        return nullptr;
    }
    bd_http_body_read_t *b = new bd_http_body_read_t();
    b->bev = bev;
    b->length = length;
    b->hooks = *hooks;
    b->buf = (char *)malloc(length);
    b->ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST, bd_http_body_on_read, b);
    struct timeval tv = {(time_t)(idle_timeout_ms / 1000), (suseconds_t)(idle_timeout_ms % 1000) * 1000};
    if (b->buf == nullptr || b->ev == nullptr || event_add(b->ev, &tv) != 0) {
        bd_http_body_read_free(b);
        return nullptr;
    }
    /* the part of the body that came with the head */
    if (have > 0 && evbuffer_remove(in, b->buf, have) != (int)have) {
        bd_http_body_read_free(b);
        return nullptr;
    }
    b->got = have;
    bufferevent_disable(bev, EV_READ);
    return b;
}

void
bd_http_body_read_free(bd_http_body_read_t *b)
{
    if (b == nullptr) {
        return;
    }
    if (b->ev != nullptr) {
        event_free(b->ev);
    }
    free(b->buf);
    delete b;
}

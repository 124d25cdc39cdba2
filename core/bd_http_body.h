/*
 * bd_http_body.h: a large request body read straight into one buffer.
 *
 * libevent 2.1 reads a socket at most 4 KiB at a time (EVBUFFER_MAX_READ), each
 * read after an ioctl(FIONREAD), into chains that evhttp holds until the body is
 * whole and that the handler then copies into one block: a 1 MiB body cost about
 * 340 reads, as many ioctls, and a copy of itself. When the head gives the body's
 * length, the edge (bd_http_edge.cc) can instead have it read here, with one recv
 * per wake-up into a buffer of exactly that length, and handed to evhttp as a
 * single reference chain, which evhttp moves (never copies) and the handler reads
 * in place. Plain sockets only (a TLS bufferevent must decrypt its own bytes).
 * Worker thread only.
 */
#ifndef BD_HTTP_BODY_H
#define BD_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;

struct bd_http_body_read_t;

/* Why a body read stopped short. */
enum bd_http_body_fail_e {
    BD_HTTP_BODY_CLOSED = 0, /* the client closed or reset the connection */
    BD_HTTP_BODY_IDLE,       /* no byte for the idle timeout */
    BD_HTTP_BODY_NOMEM,
};

struct bd_http_body_hooks_t {
    /* The body is whole and handed to evhttp (which may answer and even free the
     * connection before this returns): forget the reader, it is freed. Called
     * before the hand-over. */
    void (*done)(void *arg);
    /* The read stopped short: the owner must close the connection, which frees the
     * reader (bd_http_body_read_free). */
    void (*fail)(void *arg, int why);
    void *arg;
    uint64_t *progress; /* incremented by each read's byte count */
};

/* Starts reading the <length>-byte body of the request evhttp has just parsed the
 * head of, on the plain-socket bufferevent <bev>: the body bytes already in its
 * input are taken, and the bufferevent stops reading until the hand-over. Returns
 * null (and changes nothing) when it cannot start; evhttp then reads as usual. */
bd_http_body_read_t *bd_http_body_read_start(struct bufferevent *bev, size_t length,
                                             int64_t idle_timeout_ms,
                                             const bd_http_body_hooks_t *hooks);

/* Stops a read that has not completed and frees it (the connection is going). */
void bd_http_body_read_free(bd_http_body_read_t *b);

#endif /* BD_HTTP_BODY_H */

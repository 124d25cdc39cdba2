/*
 * bd_side_listen.h: a listener of a module's own beside the client listeners
 * (metrics_listen, admin_listen): the `NAME ADDR:PORT;` directive, the socket
 * bound once by the main thread at start (a taken address is an error then),
 * and the small replies such a listener sends. What it serves is the module's.
 */
#ifndef BD_SIDE_LISTEN_H
#define BD_SIDE_LISTEN_H

#include <sys/socket.h>

#include <string>

#include "core/bd_conf.h"

struct evhttp_request;

struct bd_side_listen_t {
    std::string text; /* as written; "" = none */
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

/* Parses the ADDR:PORT (numeric) of directive <name> into <out>: null, or a
 * message in cf->errbuf. */
const char *bd_side_listen_parse(bd_conf_ctx_t *cf, const char *name, const std::string &text,
                                 bd_side_listen_t *out);

/* Binds and listens on <l> (non-blocking, close-on-exec): the descriptor, or -1
 * logged as "<name>: bind() to ADDR failed (why)". Logs "<name>: serving
 * <what> on HOST:PORT" once bound. Main thread. */
int bd_side_listen_bind(const char *name, const char *what, const bd_side_listen_t *l);

/* Sends <body> (not for HEAD) with Content-Type <type> and Cache-Control: no-store. */
void bd_side_listen_reply(struct evhttp_request *req, int code, const char *reason,
                          const char *type, const std::string &body);

/* The peer's address of <req> as text ("" when unknown). */
std::string bd_side_listen_peer(struct evhttp_request *req);

#endif

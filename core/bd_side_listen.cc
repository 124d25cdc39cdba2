/*
 * bd_side_listen.cc: the listeners modules keep beside the client ones; see
 * bd_side_listen.h.
 */
#include "core/bd_side_listen.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/util.h>

#include "core/bd_log.h"

const char *
bd_side_listen_parse(bd_conf_ctx_t *cf, const char *name, const std::string &text,
                     bd_side_listen_t *out)
{
    int len = (int)sizeof(out->addr);
    memset(&out->addr, 0, sizeof(out->addr));
    if (evutil_parse_sockaddr_port(text.c_str(), (struct sockaddr *)&out->addr, &len) != 0 ||
        text.find(':') == std::string::npos) {
        cf->errbuf = "invalid address \"" + text + "\" in \"" + name +
                     "\" directive (ADDRESS:PORT, numeric)";
        return cf->errbuf.c_str();
    }
    out->text = text;
    out->addr_len = (socklen_t)len;
    return nullptr;
}

int
bd_side_listen_bind(const char *name, const char *what, const bd_side_listen_t *l)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (l->addr.ss_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        }
    }
    if (fd < 0 || bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0 ||
        listen(fd, 128) != 0) {
        bd_log_error(BD_LOG_EMERG, nullptr, "%s: bind() to %s failed (%s)", name, l->text.c_str(),
                     errno == EADDRINUSE ? "address already in use by another process"
                                         : strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char host[64] = "?";
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    bool v6 = bound.ss_family == AF_INET6;
    int port = v6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                  : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    evutil_inet_ntop(bound.ss_family,
                     v6 ? (const void *)&((struct sockaddr_in6 *)&bound)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&bound)->sin_addr,
                     host, sizeof(host));
    bd_log_error(BD_LOG_NOTICE, nullptr, "%s: serving %s on %s%s%s:%d", name, what,
                 v6 ? "[" : "", host, v6 ? "]" : "", port);
    return fd;
}

void
bd_side_listen_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
                     const std::string &body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *buf = evbuffer_new();
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evbuffer_add(buf, body.data(), body.size());
    }
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

std::string
bd_side_listen_peer(struct evhttp_request *req)
{
    char *peer = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    return peer != nullptr ? peer : "";
}

/*
 * bd_fake_http.cc: the scripted stand-in server. Requests are answered on its own
 * thread from the route table; every request is logged for the tests to inspect.
 */
#include "tests/unit/credentials/bd_fake_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <sys/socket.h>

static const char *
bd_fake_method(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    default:
        return "OTHER";
    }
}

static void
bd_fake_on_request(struct evhttp_request *req, void *arg) noexcept
{
    bd_fake_http_t *s = (bd_fake_http_t *)arg;
    bd_fake_request_t r;
    r.method = bd_fake_method(evhttp_request_get_command(req));
    r.uri = evhttp_request_get_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    r.body.resize(n);
    evbuffer_copyout(in, &r.body[0], n);
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = hs->tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
        std::string name = kv->key;
        for (char &c : name) {
            c = (char)tolower((unsigned char)c);
        }
        r.headers[name] = kv->value;
    }
    std::string path = r.uri.substr(0, r.uri.find('?'));
    bd_fake_response_t resp = {404, "not found"};
    {
        std::lock_guard<std::mutex> g(s->lock);
        auto it = s->routes.find(r.method + " " + path);
        if (it != s->routes.end()) {
            resp = it->second;
        }
        s->requests.push_back(r);
    }
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, resp.body.data(), resp.body.size());
    evhttp_send_reply(req, resp.status, "X", out);
    evbuffer_free(out);
}

bool
bd_fake_http_start(bd_fake_http_t *s)
{
    evthread_use_pthreads();
    s->base = event_base_new();
    s->http = evhttp_new(s->base);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
    evhttp_set_gencb(s->http, bd_fake_on_request, s);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    if (bs == nullptr) {
        return false;
    }
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len);
    s->port = ntohs(sin.sin_port);
    s->thread = std::thread([s] { event_base_dispatch(s->base); });
    return true;
}

void
bd_fake_http_stop(bd_fake_http_t *s)
{
    if (s->base == nullptr) {
        return;
    }
    event_base_loopexit(s->base, nullptr);
    if (s->thread.joinable()) {
        s->thread.join();
    }
    evhttp_free(s->http);
    event_base_free(s->base);
    s->base = nullptr;
}

void
bd_fake_http_route(bd_fake_http_t *s, const std::string &method, const std::string &path,
                   int status, const std::string &body)
{
    std::lock_guard<std::mutex> g(s->lock);
    s->routes[method + " " + path] = bd_fake_response_t{status, body};
}

std::vector<bd_fake_request_t>
bd_fake_http_requests(bd_fake_http_t *s)
{
    std::lock_guard<std::mutex> g(s->lock);
    return s->requests;
}

std::string
bd_fake_http_url(const bd_fake_http_t *s, const std::string &path)
{
    return "http://127.0.0.1:" + std::to_string(s->port) + path;
}

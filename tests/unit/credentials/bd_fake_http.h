/*
 * bd_fake_http.h: a scripted HTTP server on 127.0.0.1 (evhttp on its own thread) that
 * stands in for STS, the container agent and IMDS in the credential tests. Routes and
 * the request log are guarded by a mutex: tests change them while it runs.
 */
#ifndef BD_FAKE_HTTP_H
#define BD_FAKE_HTTP_H

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct event_base;
struct evhttp;

struct bd_fake_request_t {
    std::string method;
    std::string uri;
    std::string body;
    std::map<std::string, std::string> headers; /* lowercased names */
};

struct bd_fake_response_t {
    int status;
    std::string body;
};

struct bd_fake_http_t {
    event_base *base = nullptr;
    evhttp *http = nullptr;
    int port = 0;
    std::thread thread;
    std::mutex lock;
    std::map<std::string, bd_fake_response_t> routes; /* "GET /path" -> answer; else 404 */
    std::vector<bd_fake_request_t> requests;
};

/* Starts the server on an ephemeral port; returns false on failure. */
bool bd_fake_http_start(bd_fake_http_t *s);
void bd_fake_http_stop(bd_fake_http_t *s);

void bd_fake_http_route(bd_fake_http_t *s, const std::string &method, const std::string &path,
                        int status, const std::string &body);
std::vector<bd_fake_request_t> bd_fake_http_requests(bd_fake_http_t *s);
std::string bd_fake_http_url(const bd_fake_http_t *s, const std::string &path);

#endif

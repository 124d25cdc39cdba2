/*
 * bd_fetch.cc: one request's batch of URL source fetches on the worker's fetch client.
 * Every source runs at once; the first failure cancels the rest and reports; the last
 * success fills the body and reports. Worker thread.
 * Invariant: the batch belongs to the request (freed by its cleanup, which cancels what
 * still runs), and after calling the caller's done callback the code touches nothing of
 * the batch, since that callback may finalize the request.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "core/bd_core.h"
#include "core/bd_worker.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/fetch/bd_fetch_int.h"

#define BD_FETCH_MAX_REDIRECTS 5
#define BD_FETCH_URL_SHOWN 200 /* longest URL quoted in an error message */

struct bd_fetch_batch_t;

struct bd_fetch_item_t {
    bd_fetch_batch_t *b;
    const bd_convert_url_source_t *src; /* into creq->url_sources */
    bd_curl_xfer_t *x;                  /* the running transfer, or null */
    std::string url;                    /* the current one, after redirects */
    std::string location;               /* a redirect to follow when the transfer ends */
    std::string body;
    std::string content_type;
    long status;
    int redirects;
    bool refused;   /* the peer address was private or local */
    bool too_large; /* the body passed url_fetch_max_size */
};

struct bd_fetch_batch_t {
    bd_request_t *r;
    bd_curl_t *curl;
    const bd_fetch_conf_t *conf; /* of the request's snapshot */
    bd_fetch_done_pt done;
    void *data;
    std::vector<bd_fetch_item_t> items; /* sized once, never resized: items hold pointers */
    size_t pending;
    int64_t deadline_us;
    bool over; /* done was called, or is about to be */
};

static void bd_fetch_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *res);

static void
bd_fetch_cancel_all(bd_fetch_batch_t *b)
{
    for (bd_fetch_item_t &it : b->items) {
        if (it.x != nullptr) {
            bd_curl_xfer_cancel(it.x);
            it.x = nullptr;
        }
    }
}

static void
bd_fetch_cleanup(void *data)
{
    bd_fetch_batch_t *b = (bd_fetch_batch_t *)data;
    bd_fetch_cancel_all(b);
    delete b;
}

static const char *
bd_fetch_what(const bd_convert_url_source_t *src)
{
    switch (src->kind) {
    case BD_CONVERT_URL_CONVERSE_IMAGE:
        return "image URL";
    case BD_CONVERT_URL_CONVERSE_DOCUMENT:
        return "document URL";
    default:
        return "source URL";
    }
}

static void
bd_fetch_error(const bd_convert_url_source_t *src, const std::string &why, bd_convert_error_t *err)
{
    std::string url = src->url.size() > BD_FETCH_URL_SHOWN
                          ? src->url.substr(0, BD_FETCH_URL_SHOWN) + "..."
                          : src->url;
    err->status = 400;
    err->type = "invalid_request_error";
    err->message = std::string("could not fetch ") + bd_fetch_what(src) + " " + url + ": " + why;
}

/* Ends the batch with <err> (null: success). Nothing of the batch is used afterwards. */
static void
bd_fetch_finish(bd_fetch_batch_t *b, const bd_convert_error_t *err)
{
    b->over = true;
    bd_fetch_cancel_all(b);
    b->done(b->data, err);
}

static void
bd_fetch_fail(bd_fetch_item_t *it, const std::string &why)
{
    bd_convert_error_t err;
    bd_fetch_error(it->src, why, &err);
    bd_fetch_finish(it->b, &err);
}

static bool
bd_fetch_allow_peer(void *data, const char *ip)
{
    bd_fetch_item_t *it = (bd_fetch_item_t *)data;
    if (it->b->conf->private_ok || bd_fetch_ip_is_public(ip)) {
        return true;
    }
    it->refused = true;
    return false;
}

static int
bd_fetch_on_headers(bd_curl_xfer_t *x, long status, const bd_curl_headers_t *h)
{
    bd_fetch_item_t *it = (bd_fetch_item_t *)bd_curl_xfer_data(x);
    it->status = status;
    if (status >= 300 && status < 400) {
        const char *loc = bd_curl_headers_get(h, "location", nullptr);
        it->location = loc ? loc : "";
        return BD_CURL_ABORT; /* the body of a redirect is not needed */
    }
    if (status < 200 || status >= 300) {
        return BD_CURL_ABORT;
    }
    const char *ct = bd_curl_headers_get(h, "content-type", nullptr);
    it->content_type = ct ? ct : "";
    const char *cl = bd_curl_headers_get(h, "content-length", nullptr);
    if (cl != nullptr && strtoull(cl, nullptr, 10) > it->b->conf->max_size) {
        it->too_large = true;
        return BD_CURL_ABORT;
    }
    return BD_CURL_CONTINUE;
}

static int
bd_fetch_on_data(bd_curl_xfer_t *x, const char *p, size_t len)
{
    bd_fetch_item_t *it = (bd_fetch_item_t *)bd_curl_xfer_data(x);
    if (it->body.size() + len > it->b->conf->max_size) {
        it->too_large = true;
        return BD_CURL_ABORT;
    }
    it->body.append(p, len);
    return BD_CURL_CONTINUE;
}

static const bd_curl_handlers_t bd_fetch_handlers = {
    bd_fetch_on_headers,
    bd_fetch_on_data,
    bd_fetch_on_done,
};

/* Starts (or restarts, after a redirect) the transfer of <it>. */
static bool
bd_fetch_start(bd_fetch_item_t *it)
{
    bd_fetch_batch_t *b = it->b;
    int64_t left_ms = (b->deadline_us - bd_now_us()) / 1000;
    bd_curl_request_t req;
    memset(&req, 0, sizeof(req));
    /* some hosts refuse a request without a User-Agent */
    static const bd_curl_header_t headers[] = {{"User-Agent", "bedrock-gateway"}};
    req.method = "GET";
    req.url = it->url.c_str();
    req.headers = headers;
    req.nheaders = 1;
    req.connect_timeout_ms = (long)(left_ms > 1 ? left_ms : 1);
    req.total_timeout_ms = req.connect_timeout_ms;
    req.allow_peer = bd_fetch_allow_peer;
    it->body.clear();
    it->content_type.clear();
    it->location.clear();
    it->status = 0;
    it->x = bd_curl_xfer_start(b->curl, &req, &bd_fetch_handlers, it);
    return it->x != nullptr;
}

/* <location> resolved against the current URL, or "" when it is unusable. */
static std::string
bd_fetch_resolve(const std::string &base, const std::string &location)
{
    std::string out;
    CURLU *u = curl_url();
    char *s = nullptr;
    if (u != nullptr && curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, location.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
        out = s;
    }
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

static std::string
bd_fetch_seconds(int64_t ms)
{
    char buf[32];
    if (ms % 1000 == 0) {
        snprintf(buf, sizeof(buf), "%llds", (long long)(ms / 1000));
    } else {
        snprintf(buf, sizeof(buf), "%lldms", (long long)ms);
    }
    return buf;
}

/* Why a transfer that did not bring a body failed, in the client's terms. */
static std::string
bd_fetch_why(const bd_fetch_item_t *it, const bd_curl_result_t *res)
{
    const bd_fetch_conf_t *c = it->b->conf;
    if (it->refused) {
        return "the host has a private or local address, which this gateway does not fetch";
    }
    if (it->too_large) {
        return "the content is larger than the gateway's limit of " +
               std::to_string(c->max_size) + " bytes";
    }
    switch (res->code) {
    case BD_CURL_TIMEOUT_CONNECT:
    case BD_CURL_TIMEOUT_FIRST_BYTE:
    case BD_CURL_TIMEOUT_IDLE:
    case BD_CURL_TIMEOUT_TOTAL:
        return "no complete answer within " + bd_fetch_seconds(c->timeout_ms);
    case BD_CURL_CONNECT_FAILED:
        return std::string("cannot connect (") + res->message + ")";
    default:
        break;
    }
    if (it->status != 0 && (it->status < 200 || it->status >= 300)) {
        return "HTTP " + std::to_string(it->status);
    }
    return res->message[0] ? res->message : "the transfer failed";
}

/* A redirect: follow it (true), or false when the batch failed. */
static bool
bd_fetch_redirect(bd_fetch_item_t *it)
{
    std::string next = bd_fetch_resolve(it->url, it->location);
    if (next.empty() || !bd_fetch_scheme_ok(next.c_str())) {
        bd_fetch_fail(it, "HTTP " + std::to_string(it->status) + " to an unusable location");
        return false;
    }
    if (++it->redirects > BD_FETCH_MAX_REDIRECTS) {
        bd_fetch_fail(it, "more than " + std::to_string(BD_FETCH_MAX_REDIRECTS) + " redirects");
        return false;
    }
    it->url = next;
    if (!bd_fetch_start(it)) {
        bd_fetch_fail(it, "cannot start the transfer");
        return false;
    }
    return true;
}

/* A body arrived: fill the source. */
static void
bd_fetch_fill(bd_fetch_item_t *it)
{
    bd_fetch_batch_t *b = it->b;
    std::string type = bd_fetch_media_type(it->content_type.c_str(), it->body.data(),
                                           it->body.size());
    if (type.empty()) {
        bd_fetch_fail(it, "the answer has no usable Content-Type");
        return;
    }
    std::string b64;
    bd_fetch_base64(it->body.data(), it->body.size(), &b64);
    it->body = std::string();
    bd_convert_error_t err;
    if (bd_convert_url_source_fill(it->src, type.c_str(), b64.c_str(), &err) != 0) {
        bd_fetch_finish(b, &err);
        return;
    }
    if (--b->pending == 0) {
        bd_fetch_finish(b, nullptr);
    }
}

static void
bd_fetch_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *res)
{
    bd_fetch_item_t *it = (bd_fetch_item_t *)bd_curl_xfer_data(x);
    it->x = nullptr;
    if (it->b->over) {
        return;
    }
    if (!it->location.empty() && !it->refused) {
        bd_fetch_redirect(it);
        return;
    }
    if (res->code == BD_CURL_OK && it->status >= 200 && it->status < 300 && !it->too_large) {
        bd_fetch_fill(it);
        return;
    }
    bd_fetch_fail(it, bd_fetch_why(it, res));
}

int
bd_fetch_url_sources(bd_request_t *r, bd_convert_request_t *creq, bd_fetch_done_pt done,
                     void *data, bd_convert_error_t *err)
{
    std::vector<bd_convert_url_source_t> &srcs = creq->url_sources;
    if (srcs.size() > BD_FETCH_MAX_SOURCES) {
        err->status = 400;
        err->type = "invalid_request_error";
        err->message = "at most " + std::to_string(BD_FETCH_MAX_SOURCES) +
                       " URL sources are fetched per request";
        return -1;
    }
    for (const bd_convert_url_source_t &s : srcs) {
        if (!bd_fetch_scheme_ok(s.url.c_str())) {
            bd_fetch_error(&s, "only http and https URLs are fetched", err);
            return -1;
        }
    }
    bd_fetch_batch_t *b = new bd_fetch_batch_t();
    b->r = r;
    b->curl = bd_fetch_worker(r->w)->curl;
    b->conf = bd_fetch_conf(r->snap);
    b->done = done;
    b->data = data;
    b->pending = srcs.size();
    b->deadline_us = bd_now_us() + b->conf->timeout_ms * 1000;
    b->over = false;
    b->items.resize(srcs.size());
    bd_request_add_cleanup(r, bd_fetch_cleanup, b);
    for (size_t i = 0; i < srcs.size(); i++) {
        bd_fetch_item_t &it = b->items[i];
        it.b = b;
        it.src = &srcs[i];
        it.url = srcs[i].url;
        it.redirects = 0;
        it.refused = it.too_large = false;
        if (!bd_fetch_start(&it)) {
            bd_fetch_cancel_all(b);
            b->over = true;
            bd_fetch_error(&srcs[i], "cannot start the transfer (is the URL well formed?)", err);
            return -1;
        }
    }
    return 0;
}

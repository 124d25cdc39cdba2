/*
 * bd_bedrock_catalog_fetch.cc: the catalog's fetch thread: ListFoundationModels and
 * every page of ListInferenceProfiles with blocking libcurl, signed with SigV4 (or a
 * Bedrock API key), at start and every refresh_ms; failures back off and keep the
 * last good catalog. Each good catalog is published twice (core/bd_published.h):
 * for bd_bedrock_catalog_acquire and as the models module's source; readers take no
 * lock. f->lock only puts the thread to sleep.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <algorithm>

#include <curl/curl.h>
#include <jansson.h>

#include "core/aws/bd_sigv4.h"
#include "core/bd_core.h"
#include "core/bd_log.h"
#include "core/bd_thread.h"
#include "modules/bedrock/bd_bedrock_catalog.h"

static const size_t BD_CATALOG_MAX_BODY = 16u * 1024 * 1024;
static const int BD_CATALOG_MAX_PAGES = 100; /* a token that never ends stops here */

struct bd_bedrock_catalog_fetcher_t {
    bd_bedrock_catalog_options_t opts;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wakeup; /* the thread sleeps here (monotonic clock) */
    std::atomic<bool> stop;

    bd_published_t current; /* the last good catalog; empty before the first success */

    /* The thread's own. */
    std::string last_error; /* the failure last logged, "" while healthy */
    size_t last_models, last_profiles;
};

struct bd_catalog_resp_t {
    long status;
    std::string body;
    std::string error_type; /* x-amzn-ErrorType */
};

static size_t
bd_catalog_on_write(char *ptr, size_t size, size_t n, void *arg) noexcept
{
    bd_catalog_resp_t *resp = (bd_catalog_resp_t *)arg;
    if (resp->body.size() + size * n > BD_CATALOG_MAX_BODY) {
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    resp->body.append(ptr, size * n);
    return size * n;
}

static size_t
bd_catalog_on_header(char *ptr, size_t size, size_t n, void *arg) noexcept
{
    static const char name[] = "x-amzn-errortype:";
    bd_catalog_resp_t *resp = (bd_catalog_resp_t *)arg;
    size_t len = size * n;
    if (len > strlen(name) && strncasecmp(ptr, name, strlen(name)) == 0) {
        std::string v(ptr + strlen(name), len - strlen(name));
        size_t b = v.find_first_not_of(" \t"), e = v.find_first_of(":\r\n", b);
        resp->error_type = b == std::string::npos ? "" : v.substr(b, e - b);
    }
    return len;
}

static int
bd_catalog_on_progress(void *arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept
{
    const std::atomic<bool> *stop = (const std::atomic<bool> *)arg;
    return stop->load(std::memory_order_relaxed) ? 1 : 0;
}

/* The auth headers for GET <path>?<query>: a bearer token or a SigV4 signature. */
static int
bd_catalog_auth(bd_bedrock_catalog_fetcher_t *f, const std::string &path,
                const std::vector<bd_sigv4_query_param_t> &query, struct curl_slist **list,
                std::string *err)
{
    bd_credentials_t *creds = bd_credentials_acquire(f->opts.creds);
    if (creds == nullptr) {
        *err = "no usable AWS credentials";
        return -1;
    }
    if (!creds->bearer_token.empty()) {
        *list = curl_slist_append(*list, ("Authorization: Bearer " + creds->bearer_token).c_str());
        bd_credentials_release(creds);
        return 0;
    }
    const bd_aws_endpoint_t *ep = &f->opts.control;
    bd_sigv4_request_t sreq;
    sreq.method = "GET";
    sreq.host = ep->host.c_str();
    sreq.path = path.c_str();
    sreq.query = query;
    sreq.headers.push_back({"accept", "application/json"});
    sreq.body = "";
    sreq.body_len = 0;
    sreq.region = ep->region.c_str();
    sreq.service = ep->signing_name.c_str();
    sreq.time_s = (int64_t)time(nullptr);
    sreq.add_content_sha256 = false;
    bd_sigv4_result_t sig;
    int rc = bd_sigv4_sign(&sreq, &creds->sigv4, &sig);
    bd_credentials_release(creds);
    if (rc != 0) {
        *err = "cannot sign the request";
        return -1;
    }
    for (const bd_sigv4_header_t &h : sig.add_headers) {
        *list = curl_slist_append(*list, (h.name + ": " + h.value).c_str());
    }
    return 0;
}

/* The query string as SigV4 canonicalizes it (sorted, encoded), so that the wire and
 * the signature agree. */
static std::string
bd_catalog_query_string(std::vector<bd_sigv4_query_param_t> query)
{
    std::sort(query.begin(), query.end(),
              [](const bd_sigv4_query_param_t &a, const bd_sigv4_query_param_t &b) {
                  return a.name != b.name ? a.name < b.name : a.value < b.value;
              });
    std::string out;
    for (const bd_sigv4_query_param_t &q : query) {
        out += (out.empty() ? "" : "&") + bd_sigv4_uri_encode(q.name.data(), q.name.size(), false) +
               "=" + bd_sigv4_uri_encode(q.value.data(), q.value.size(), false);
    }
    return out;
}

static void
bd_catalog_setopts(bd_bedrock_catalog_fetcher_t *f, CURL *h, bd_catalog_resp_t *resp,
                   char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)f->opts.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)f->opts.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bd_catalog_on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, bd_catalog_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, bd_catalog_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)&f->stop);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (!f->opts.ca_file.empty()) {
        curl_easy_setopt(h, CURLOPT_CAINFO, f->opts.ca_file.c_str());
    }
}

/* "HTTP 403 AccessDeniedException: <message>" for an AWS error answer. */
static std::string
bd_catalog_aws_error(const bd_catalog_resp_t *resp)
{
    std::string out = "HTTP " + std::to_string(resp->status);
    json_t *j = json_loadb(resp->body.data(), resp->body.size(), 0, nullptr);
    const char *msg = j != nullptr ? json_string_value(json_object_get(j, "message")) : nullptr;
    if (!resp->error_type.empty()) {
        out += " " + resp->error_type;
    }
    if (msg != nullptr) {
        out += std::string(": ") + msg;
    }
    json_decref(j);
    return out;
}

/* One GET <op_path>?<query> to the control plane. 0 with a 200 body, or -1 with <err>
 * (worded to stay the same from one attempt to the next, for the log). */
static int
bd_catalog_get(bd_bedrock_catalog_fetcher_t *f, const char *op_path,
               const std::vector<bd_sigv4_query_param_t> &query, std::string *body,
               std::string *err)
{
    const bd_aws_endpoint_t *ep = &f->opts.control;
    std::string path = ep->base_path + op_path;
    struct curl_slist *list = curl_slist_append(nullptr, "Accept: application/json");
    if (bd_catalog_auth(f, path, query, &list, err) != 0) {
        curl_slist_free_all(list);
        return -1;
    }
    std::string qs = bd_catalog_query_string(query);
    std::string url = ep->scheme + "://" + ep->host + path + (qs.empty() ? "" : "?" + qs);
    bd_catalog_resp_t resp;
    resp.status = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    if (h == nullptr) {
        curl_slist_free_all(list);
        *err = "curl_easy_init failed";
        return -1;
    }
    bd_catalog_setopts(f, h, &resp, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_easy_cleanup(h);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        /* curl's own wording, not errbuf: errbuf carries timings that change each time */
        *err = std::string("GET ") + ep->url + op_path + ": " + curl_easy_strerror(rc);
        return -1;
    }
    if (resp.status != 200) {
        *err = std::string("GET ") + ep->url + op_path + ": " + bd_catalog_aws_error(&resp);
        return -1;
    }
    body->swap(resp.body);
    return 0;
}

/* Fetches a whole catalog; null with <err> on any failure. */
static bd_bedrock_catalog_t *
bd_catalog_fetch(bd_bedrock_catalog_fetcher_t *f, std::string *err)
{
    bd_bedrock_catalog_t *cat = bd_bedrock_catalog_new();
    std::string body, token;
    int rc = bd_catalog_get(f, "/foundation-models", {}, &body, err);
    if (rc == 0 && bd_bedrock_catalog_parse_models(body.data(), body.size(), cat, err) != 0) {
        *err = "ListFoundationModels: " + *err;
        rc = -1;
    }
    for (int page = 0; rc == 0 && page < BD_CATALOG_MAX_PAGES; page++) {
        std::vector<bd_sigv4_query_param_t> query = {{"maxResults", "1000"}};
        if (!token.empty()) {
            query.push_back({"nextToken", token});
        }
        rc = bd_catalog_get(f, "/inference-profiles", query, &body, err);
        if (rc == 0 &&
            bd_bedrock_catalog_parse_profiles(body.data(), body.size(), cat, &token, err) != 0) {
            *err = "ListInferenceProfiles: " + *err;
            rc = -1;
        }
        if (rc == 0 && token.empty()) {
            break;
        }
    }
    if (rc != 0) {
        bd_bedrock_catalog_release(cat);
        return nullptr;
    }
    bd_bedrock_catalog_index(cat, f->opts.region.c_str());
    cat->fetched_ms = (int64_t)time(nullptr) * 1000;
    return cat;
}

/* Fetches once and publishes; returns the delay until the next attempt. Logs a
 * failure only when it differs from the last one, and a success after a failure or
 * when the catalog's size changed. */
static int64_t
bd_catalog_run(bd_bedrock_catalog_fetcher_t *f, int *failures)
{
    std::string err;
    bd_bedrock_catalog_t *fresh = bd_catalog_fetch(f, &err);
    if (fresh == nullptr) {
        if (f->stop.load()) {
            return 0;
        }
        int64_t delay = f->opts.retry_min_ms << std::min(*failures, 20);
        delay = std::min(delay, f->opts.retry_max_ms);
        (*failures)++;
        if (err != f->last_error) {
            bd_log_error(BD_LOG_WARN, nullptr,
                         "bedrock catalog: %s; /v1/models lists the %s, retrying with backoff",
                         err.c_str(),
                         bd_published_generation(&f->current) > 0 ? "last catalog"
                                                                  : "model map only");
            f->last_error = err;
        }
        return delay;
    }
    *failures = 0;
    bool changed = !f->last_error.empty() || fresh->models.size() != f->last_models ||
                   fresh->profiles.size() != f->last_profiles;
    size_t models = fresh->models.size(), profiles = fresh->profiles.size();
    size_t listed = fresh->listings.size();
    f->last_error.clear();
    f->last_models = models;
    f->last_profiles = profiles;
    bd_published_hold(&fresh->pub); /* one reference for each publication */
    bd_published_publish(&f->current, &fresh->pub);
    bd_models_publish_catalog(fresh);
    if (changed) { /* once published: whoever reads the line sees the catalog */
        bd_log_error(BD_LOG_NOTICE, nullptr,
                     "bedrock catalog: %zu models, %zu inference profiles, %zu listed from %s",
                     models, profiles, listed, f->opts.control.url.c_str());
    }
    return f->opts.refresh_ms;
}

static void *
bd_catalog_on_thread(void *arg) noexcept
{
    bd_bedrock_catalog_fetcher_t *f = (bd_bedrock_catalog_fetcher_t *)arg;
    bd_log_set_thread_name("catalog");
    int failures = 0;
    while (!f->stop.load()) {
        int64_t delay_ms = bd_catalog_run(f, &failures);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += delay_ms / 1000;
        ts.tv_nsec += (delay_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&f->lock);
        while (!f->stop.load()) {
            if (pthread_cond_timedwait(&f->wakeup, &f->lock, &ts) == ETIMEDOUT) {
                break;
            }
        }
        pthread_mutex_unlock(&f->lock);
    }
    return nullptr;
}

bd_bedrock_catalog_fetcher_t *
bd_bedrock_catalog_start(const bd_bedrock_catalog_options_t *opts)
{
    bd_bedrock_catalog_fetcher_t *f = new bd_bedrock_catalog_fetcher_t();
    f->opts = *opts;
    f->opts.retry_min_ms = std::max<int64_t>(f->opts.retry_min_ms, 1);
    f->opts.retry_max_ms = std::min(std::max(f->opts.retry_max_ms, f->opts.retry_min_ms),
                                    f->opts.refresh_ms);
    bd_published_init(&f->current);
    f->last_models = f->last_profiles = 0;
    f->stop.store(false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&f->lock, nullptr);
    pthread_cond_init(&f->wakeup, &ca);
    pthread_condattr_destroy(&ca);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = bd_thread_create(&f->thread, bd_catalog_on_thread, f);
    if (rc != 0) {
        BD_FATAL("pthread_create (bedrock catalog): %s", strerror(rc));
    }
    return f;
}

void
bd_bedrock_catalog_stop(bd_bedrock_catalog_fetcher_t *f)
{
    if (f == nullptr) {
        return;
    }
    pthread_mutex_lock(&f->lock);
    f->stop.store(true); /* also aborts a transfer in progress via its progress callback */
    pthread_cond_signal(&f->wakeup);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, nullptr);
    bd_models_publish_catalog(nullptr);
    bd_published_clear(&f->current);
    pthread_cond_destroy(&f->wakeup);
    pthread_mutex_destroy(&f->lock);
    curl_global_cleanup();
    delete f;
}

bd_bedrock_catalog_t *
bd_bedrock_catalog_acquire(bd_bedrock_catalog_fetcher_t *f)
{
    bd_published_obj_t *obj = bd_published_acquire(&f->current);
    return obj != nullptr ? static_cast<bd_bedrock_catalog_t *>((bd_models_catalog_t *)obj)
                          : nullptr;
}

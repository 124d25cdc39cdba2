/*
 * bd_ddb_client.cc: DynamoDB calls on a libcurl multi handle. Each operation is a
 * slot that is started, waited on with curl_multi_poll, judged (success, final
 * error, or retry after a jittered backoff), and started again; the batch ends
 * when every slot is final. Requests are signed afresh for every attempt, so a
 * long backoff never sends a stale x-amz-date.
 */
#include "modules/dynamodb/bd_ddb_client.h"

#include <string.h>
#include <time.h>

#include <vector>

#include <curl/curl.h>

#include "core/aws/bd_sigv4.h"

static const size_t BD_DDB_MAX_BODY = 32u * 1024 * 1024;
/* Idle connections (and easy handles) kept between runs. curl's default cache is
 * 4 per easy handle in the multi, which shrinks as a run's handles are removed and
 * so closed connections a push round was about to reuse. */
static const long BD_DDB_MAX_IDLE = 32;

struct bd_ddb_client_t {
    bd_ddb_client_options_t opts;
    CURLM *multi;
    uint64_t rng;
    bd_ddb_stats_t stats;
    std::vector<CURL *> idle; /* easy handles to reuse: their buffers stay allocated */
    /* bodies of ended ops, kept for a filler's next ones: a push round writes
     * megabytes of bodies, and fresh memory costs a page fault every 4 KB */
    std::vector<std::string> spare_bodies;
    bool env_proxy; /* the environment names a proxy: libcurl chooses per call */
    /* every call's URL, as text and parsed once: given both, libcurl 7.88 neither
     * parses the text nor prints the parsed URL back for each call */
    std::string url;
    CURLU *parsed_url; /* NULL when libcurl cannot parse it: the text gets its error */
};

/* One operation in flight. */
struct bd_ddb_slot_t {
    bd_ddb_op_t *op;
    CURL *easy;
    struct curl_slist *headers;
    std::string response;
    std::string amz_date;
    char errbuf[CURL_ERROR_SIZE];
    int64_t start_at_us; /* when the next attempt may start */
    bool done;
};

static int64_t
bd_ddb_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
bd_ddb_rand(bd_ddb_client_t *c)
{
    /* xorshift64*: jitter only, not secrets */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1Dull;
}

static size_t
bd_ddb_on_write(char *ptr, size_t size, size_t n, void *arg) noexcept
{
    bd_ddb_slot_t *s = (bd_ddb_slot_t *)arg;
    if (s->response.size() + size * n > BD_DDB_MAX_BODY) {
        return 0;
    }
    s->response.append(ptr, size * n);
    return size * n;
}

static int
bd_ddb_on_progress(void *arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept
{
    const std::atomic<bool> *abort = (const std::atomic<bool> *)arg;
    return abort != nullptr && abort->load(std::memory_order_relaxed) ? 1 : 0;
}

bd_ddb_client_t *
bd_ddb_client_create(const bd_ddb_client_options_t *opts, std::string *err)
{
    CURLM *m = curl_multi_init();
    if (m == nullptr) {
        *err = "curl_multi_init failed";
        return nullptr;
    }
    bd_ddb_client_t *c = new bd_ddb_client_t();
    c->opts = *opts;
    c->multi = m;
    c->rng = (uint64_t)bd_ddb_mono_us() * 0x9e3779b97f4a7c15ull | 1;
    c->env_proxy = bd_aws_env_names_proxy();
    c->url = opts->endpoint.url + "/";
    c->parsed_url = curl_url();
    if (c->parsed_url != nullptr
        && curl_url_set(c->parsed_url, CURLUPART_URL, c->url.c_str(), 0) != CURLUE_OK) {
        curl_url_cleanup(c->parsed_url);
        c->parsed_url = nullptr;
    }
    memset(&c->stats, 0, sizeof(c->stats));
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, BD_DDB_MAX_IDLE);
    return c;
}

/* The options every call of <c> shares, set once per easy handle: a reset and
 * a dozen setopts per call (the URL and proxy strings copied again) were a few
 * percent of a pushed row. */
static void
bd_ddb_easy_setup(bd_ddb_client_t *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_URL, c->url.c_str());
    curl_easy_setopt(h, CURLOPT_CURLU, c->parsed_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opts.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opts.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bd_ddb_on_write);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, bd_ddb_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->opts.abort);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (!c->env_proxy) {
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    }
    if (!c->opts.ca_file.empty()) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.ca_file.c_str());
    }
}

static CURL *
bd_ddb_easy_take(bd_ddb_client_t *c)
{
    if (c->idle.empty()) {
        CURL *h = curl_easy_init();
        if (h != nullptr) {
            bd_ddb_easy_setup(c, h);
        }
        return h;
    }
    CURL *h = c->idle.back();
    c->idle.pop_back();
    return h;
}

/* Back to the idle handles, without the pointers of the call that used it (its
 * slot, body and header list are about to be freed). */
static void
bd_ddb_easy_give(bd_ddb_client_t *c, CURL *h)
{
    if (h == nullptr) {
        return;
    }
    if (c->idle.size() >= (size_t)BD_DDB_MAX_IDLE) {
        curl_easy_cleanup(h);
        return;
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(h, CURLOPT_PRIVATE, nullptr);
    c->idle.push_back(h);
}

void
bd_ddb_client_destroy(bd_ddb_client_t *c)
{
    if (c != nullptr) {
        for (CURL *h : c->idle) {
            curl_easy_cleanup(h);
        }
        curl_multi_cleanup(c->multi);
        curl_url_cleanup(c->parsed_url);
        delete c;
    }
}

void
bd_ddb_client_stats(const bd_ddb_client_t *c, bd_ddb_stats_t *out)
{
    *out = c->stats;
}

bool
bd_ddb_retryable(long http_status, const std::string &error)
{
    static const char *const names[] = {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionConflictException",
        "ExpiredTokenException",
        nullptr,
    };
    if (http_status >= 500 || http_status == 429) {
        return true;
    }
    for (const char *const *n = names; *n != nullptr; n++) {
        if (error == *n) {
            return true;
        }
    }
    return false;
}

std::string
bd_ddb_describe(const bd_ddb_op_t *op)
{
    switch (op->status) {
    case BD_DDB_OK:
        return "ok";
    case BD_DDB_AWS_ERROR:
        return op->error + (op->message.empty() ? "" : ": " + op->message);
    case BD_DDB_NO_CREDENTIALS:
        return "no usable AWS credentials: " + op->message;
    case BD_DDB_ABORTED:
        return op->message.empty() ? "aborted" : op->message;
    default:
        return op->message;
    }
}

/* The headers of one attempt: content type, target, and the SigV4 ones. */
static int
bd_ddb_sign(bd_ddb_client_t *c, bd_ddb_slot_t *s)
{
    bd_credentials_t *creds = bd_credentials_acquire(c->opts.creds);
    if (creds == nullptr || !creds->bearer_token.empty() || creds->sigv4.access_key_id.empty()) {
        s->op->message = creds == nullptr ? "none found yet" : "a Bedrock API key cannot sign DynamoDB calls";
        bd_credentials_release(creds);
        return -1;
    }
    const bd_aws_endpoint_t *ep = &c->opts.endpoint;
    std::string target = "DynamoDB_20120810." + s->op->target;
    bd_sigv4_request_t req;
    req.method = "POST";
    req.host = ep->host.c_str();
    std::string path = ep->base_path.empty() ? "/" : ep->base_path + "/";
    req.path = path.c_str();
    req.headers.push_back({"content-type", "application/x-amz-json-1.0"});
    req.headers.push_back({"x-amz-target", target});
    req.body = s->op->body.data();
    req.body_len = s->op->body.size();
    req.region = ep->region.c_str();
    req.service = "dynamodb";
    req.time_s = (int64_t)time(nullptr);
    req.add_content_sha256 = false;
    bd_sigv4_result_t sig;
    int rc = bd_sigv4_sign(&req, &creds->sigv4, &sig);
    bd_credentials_release(creds);
    if (rc != 0) {
        s->op->message = "cannot sign the request";
        return -1;
    }
    curl_slist_free_all(s->headers);
    s->headers = nullptr;
    s->headers = curl_slist_append(s->headers, "Content-Type: application/x-amz-json-1.0");
    s->headers = curl_slist_append(s->headers, ("X-Amz-Target: " + target).c_str());
    s->headers = curl_slist_append(s->headers, "Expect:");
    for (const bd_sigv4_header_t &h : sig.add_headers) {
        s->headers = curl_slist_append(s->headers, (h.name + ": " + h.value).c_str());
    }
    return 0;
}

/* Starts one attempt of <s>. Returns 0, or -1 when the op is final (no credentials). */
static int
bd_ddb_start(bd_ddb_client_t *c, bd_ddb_slot_t *s)
{
    s->op->attempts++;
    c->stats.attempts++;
    if (bd_ddb_sign(c, s) != 0) {
        s->op->status = BD_DDB_NO_CREDENTIALS;
        return -1;
    }
    s->response.clear();
    s->errbuf[0] = '\0';
    CURL *h = s->easy;
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, s->op->body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->op->body.size());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    curl_multi_add_handle(c->multi, h);
    return 0;
}

/* Reads a finished attempt into the op. Returns true when it may be retried. */
static bool
bd_ddb_judge(bd_ddb_client_t *c, bd_ddb_slot_t *s, CURLcode code)
{
    bd_ddb_op_t *op = s->op;
    json_decref(op->reply);
    op->reply = nullptr;
    op->error.clear();
    op->message.clear();
    if (code != CURLE_OK) {
        bool aborted = c->opts.abort != nullptr && c->opts.abort->load();
        op->status = aborted ? BD_DDB_ABORTED : BD_DDB_TRANSPORT;
        op->http_status = 0;
        op->message = s->errbuf[0] ? s->errbuf : curl_easy_strerror(code);
        return !aborted;
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &op->http_status);
    json_error_t jerr;
    json_t *j = json_loadb(s->response.data(), s->response.size(), 0, &jerr);
    if (op->http_status == 200) {
        if (!json_is_object(j)) {
            json_decref(j);
            op->status = BD_DDB_TRANSPORT;
            op->message = "the answer is not a JSON object";
            return true;
        }
        op->status = BD_DDB_OK;
        op->reply = j;
        return false;
    }
    op->status = BD_DDB_AWS_ERROR;
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg == nullptr) {
        msg = json_string_value(json_object_get(j, "Message"));
    }
    if (type != nullptr) {
        const char *hash = strrchr(type, '#');
        op->error = hash ? hash + 1 : type;
    } else {
        op->error = "HTTP " + std::to_string(op->http_status);
    }
    op->message = msg ? msg : "";
    op->reply = j; /* the error body may carry Item or CancellationReasons */
    return bd_ddb_retryable(op->http_status, op->error);
}

/* Writes the body of op <i>, the first time it starts, into the room of a spare. */
static void
bd_ddb_body_fill(bd_ddb_client_t *c, const bd_ddb_filler_t *filler, size_t i, bd_ddb_op_t *op)
{
    if (!c->spare_bodies.empty()) {
        op->body.swap(c->spare_bodies.back());
        c->spare_bodies.pop_back();
    }
    op->body.clear();
    filler->fill(filler->arg, i, &op->body);
}

/* Takes the body of an ended op back into the spares. */
static void
bd_ddb_body_give(bd_ddb_client_t *c, bd_ddb_op_t *op)
{
    if (c->spare_bodies.size() < (size_t)BD_DDB_MAX_IDLE) {
        c->spare_bodies.push_back(std::move(op->body));
    }
    op->body = std::string();
}

void
bd_ddb_run(bd_ddb_client_t *c, bd_ddb_op_t *ops, size_t n)
{
    bd_ddb_run_window(c, ops, n, n, false);
}

void
bd_ddb_run_window(bd_ddb_client_t *c, bd_ddb_op_t *ops, size_t n, size_t window,
                  bool stop_on_failure, const bd_ddb_filler_t *filler)
{
    window = window == 0 ? 1 : window;
    std::vector<bd_ddb_slot_t> slots(n);
    bool failed = false; /* an op failed for good: with stop_on_failure, start no more */
    for (size_t i = 0; i < n; i++) {
        slots[i].op = &ops[i];
        slots[i].easy = nullptr;
        slots[i].headers = nullptr;
        slots[i].start_at_us = 0;
        slots[i].done = false;
        ops[i].attempts = 0;
        c->stats.calls++;
    }
    size_t pending = n; /* slots not done */
    size_t running = 0; /* slots inside the multi handle */
    size_t active = 0;  /* slots started and not done (waiting to retry included) */
    size_t first_open = 0; /* slots before it are done: a wake-up looks at the window only */
    std::vector<bool> in_multi(n, false);
    while (pending > 0) {
        int64_t now = bd_ddb_mono_us();
        int64_t next_wake = now + 1000000;
        bool aborting = c->opts.abort != nullptr && c->opts.abort->load();
        while (first_open < n && slots[first_open].done) {
            first_open++;
        }
        for (size_t i = first_open; i < n; i++) {
            bd_ddb_slot_t *s = &slots[i];
            if (s->done || in_multi[i]) {
                continue;
            }
            if (aborting || (failed && stop_on_failure && s->op->attempts == 0)) {
                s->op->status = BD_DDB_ABORTED;
                s->op->message = aborting ? "aborted" : "not sent: an earlier operation failed";
                s->done = true;
                pending--;
                continue;
            }
            if (s->op->attempts == 0 && active >= window) {
                break; /* ops start in order: the ones after this have not started either */
            }
            if (s->start_at_us > now) {
                next_wake = s->start_at_us < next_wake ? s->start_at_us : next_wake;
                continue;
            }
            if (s->easy == nullptr) {
                s->easy = bd_ddb_easy_take(c);
            }
            if (s->op->attempts == 0) {
                active++;
                if (filler != nullptr) {
                    bd_ddb_body_fill(c, filler, i, s->op);
                }
            }
            if (bd_ddb_start(c, s) != 0) {
                s->done = true;
                pending--;
                active--;
                c->stats.failures++;
                failed = true;
                if (filler != nullptr) {
                    bd_ddb_body_give(c, s->op);
                }
                continue;
            }
            in_multi[i] = true;
            running++;
        }
        if (running == 0) {
            if (pending > 0 && next_wake > now) {
                int64_t wait_ms = (next_wake - now + 999) / 1000;
                curl_multi_poll(c->multi, nullptr, 0, (int)(wait_ms > 100 ? 100 : wait_ms), nullptr);
            }
            continue;
        }
        int still = 0;
        curl_multi_perform(c->multi, &still);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(c->multi, &left)) != nullptr) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            bd_ddb_slot_t *s = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode code = msg->data.result;
            curl_multi_remove_handle(c->multi, msg->easy_handle);
            size_t i = (size_t)(s - slots.data());
            in_multi[i] = false;
            running--;
            bool retry = bd_ddb_judge(c, s, code);
            if (retry && s->op->attempts < c->opts.max_attempts) {
                int64_t cap = c->opts.retry_base_ms << (s->op->attempts < 16 ? s->op->attempts : 16);
                cap = cap > c->opts.retry_max_ms ? c->opts.retry_max_ms : cap;
                s->start_at_us = bd_ddb_mono_us() + (int64_t)(bd_ddb_rand(c) % (uint64_t)(cap * 1000 + 1));
                c->stats.retries++;
                continue;
            }
            if (s->op->status != BD_DDB_OK) {
                c->stats.failures++;
                failed = true;
            }
            s->done = true;
            pending--;
            active--;
            bd_ddb_easy_give(c, s->easy);
            s->easy = nullptr;
            if (filler != nullptr) {
                bd_ddb_body_give(c, s->op);
            }
        }
        if (running > 0) {
            curl_multi_poll(c->multi, nullptr, 0, 100, nullptr);
        }
    }
    for (bd_ddb_slot_t &s : slots) {
        bd_ddb_easy_give(c, s.easy);
        curl_slist_free_all(s.headers);
    }
}

int
bd_ddb_call(bd_ddb_client_t *c, const char *target, json_t *body, bd_ddb_op_t *op)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    op->target = target;
    op->body = text ? text : "{}";
    free(text);
    bd_ddb_run(c, op, 1);
    return op->status;
}

/* The process environment without the Bedrock API key. */
static const char *
bd_ddb_getenv(void *, const char *name)
{
    return strcmp(name, "AWS_BEARER_TOKEN_BEDROCK") == 0 ? nullptr : getenv(name);
}

bd_credentials_provider_t *
bd_ddb_credentials_create(const char *region, int64_t wait_ms, std::string *err)
{
    bd_credentials_options_t opts;
    memset((void *)&opts, 0, sizeof(opts));
    opts.source = BD_CREDENTIALS_AUTO;
    opts.region = region;
    opts.env.getenv = bd_ddb_getenv;
    opts.env.data = nullptr;
    char buf[256];
    bd_credentials_provider_t *p = bd_credentials_create(&opts, buf, sizeof(buf));
    if (p == nullptr) {
        *err = buf;
        return nullptr;
    }
    bd_credentials_wait(p, 0, wait_ms);
    return p;
}

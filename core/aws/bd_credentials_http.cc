/*
 * bd_credentials_http.cc: the network credential sources: STS AssumeRoleWithWebIdentity
 * (unsigned query protocol), the ECS/EKS container endpoint and EC2 IMDSv2. Each call
 * is a blocking libcurl easy transfer with a short timeout, so these run on the
 * provider's refresh thread only; destroy aborts a transfer through the stop flag.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>
#include <vector>

#include "core/aws/bd_credentials_int.h"

static const size_t BD_HTTP_MAX_BODY = 64 * 1024;
static const char BD_CONTAINER_HOST[] = "http://169.254.170.2";
static const char BD_IMDS_DEFAULT[] = "http://169.254.169.254";
static const char BD_IMDS_DEFAULT_V6[] = "http://[fd00:ec2::254]";

struct bd_http_resp_t {
    long status;
    std::string body;
    std::string error; /* transport error, when the transfer did not complete */
};

static size_t
bd_http_on_write(char *ptr, size_t size, size_t n, void *arg) noexcept
{
    bd_http_resp_t *resp = (bd_http_resp_t *)arg;
    if (resp->body.size() + size * n > BD_HTTP_MAX_BODY) {
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    resp->body.append(ptr, size * n);
    return size * n;
}

static int
bd_http_on_progress(void *arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept
{
    const std::atomic<bool> *stop = (const std::atomic<bool> *)arg;
    return stop->load(std::memory_order_relaxed) ? 1 : 0;
}

/* One blocking request. <body> non-null sends it (with PUT/POST). Proxies are never
 * used for the link-local metadata services (<direct>). Returns 0 when a response
 * arrived (any status), -1 with resp->error otherwise. */
static int
bd_http_fetch(const bd_credentials_ctx_t *ctx, const char *method, const std::string &url,
              const std::vector<std::string> &headers, const std::string *body,
              int64_t timeout_ms, bool direct, bd_http_resp_t *resp)
{
    CURL *h = curl_easy_init();
    if (h == nullptr) {
        resp->error = "curl_easy_init failed";
        return -1;
    }
    struct curl_slist *list = nullptr;
    for (const std::string &hd : headers) {
        list = curl_slist_append(list, hd.c_str());
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, bd_http_on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, bd_http_on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)ctx->stop);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (direct) {
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    if (body != nullptr) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body->size());
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        resp->error = std::string(method) + " " + url + ": "
                      + (errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

static void
bd_trim_right(std::string *s)
{
    while (!s->empty() && (s->back() == '\n' || s->back() == '\r' || s->back() == ' '
                           || s->back() == '\t')) {
        s->pop_back();
    }
}

/* RoleSessionName must match [\w+=,.@-]{2,64}. */
static bool
bd_session_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 64) {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!isalnum(c) && strchr("_+=,.@-", c) == nullptr) {
            return false;
        }
    }
    return true;
}

int
bd_credentials_from_web_identity(const bd_credentials_ctx_t *ctx, const char *token_file,
                                 const char *role_arn, const char *session_name,
                                 bd_credentials_result_t *res)
{
    res->source = "web identity";
    std::string token, err;
    /* Read the token on every call: the platform rotates the file. */
    if (bd_credentials_read_file(token_file, &token, &err) != 0) {
        res->error = err;
        return BD_CREDENTIALS_FAILED;
    }
    bd_trim_right(&token);
    if (token.empty()) {
        res->error = std::string("web identity token file ") + token_file + " is empty";
        return BD_CREDENTIALS_FAILED;
    }
    std::string session = session_name != nullptr ? session_name
                                                  : "bedrockd-" + std::to_string(ctx->now_ms);
    if (!bd_session_name_valid(session.c_str())) {
        res->error = "role session name \"" + session + "\" is not valid";
        return BD_CREDENTIALS_FAILED;
    }
    std::string region = bd_aws_region_resolve(ctx->region, ctx->profile, ctx->env);
    bd_aws_endpoint_t ep;
    char eperr[256];
    if (bd_aws_endpoint_resolve("sts", region.c_str(), ctx->sts_endpoint, ctx->env, &ep, eperr,
                                sizeof(eperr)) != 0) {
        res->error = eperr;
        return BD_CREDENTIALS_FAILED;
    }
    std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn="
                       + bd_credentials_form_encode(role_arn) + "&RoleSessionName="
                       + bd_credentials_form_encode(session.c_str())
                       + "&WebIdentityToken=" + bd_credentials_form_encode(token.c_str());
    std::vector<std::string> headers = {"Content-Type: application/x-www-form-urlencoded",
                                        "Accept: text/xml", "Expect:"};
    bd_http_resp_t resp = {};
    if (bd_http_fetch(ctx, "POST", ep.url + "/", headers, &body, ctx->sts_timeout_ms, false,
                      &resp) != 0) {
        res->error = "sts: " + resp.error;
        return BD_CREDENTIALS_FAILED;
    }
    if (bd_credentials_parse_sts_xml(resp.body.data(), resp.body.size(), res) != 0) {
        res->error = "sts: HTTP " + std::to_string(resp.status) + ": " + res->error;
        return BD_CREDENTIALS_FAILED;
    }
    if (resp.status != 200) {
        res->error = "sts: HTTP " + std::to_string(resp.status);
        return BD_CREDENTIALS_FAILED;
    }
    return BD_CREDENTIALS_FOUND;
}

/* The SDKs allow a full URI only over https, or over http to loopback and the
 * ECS/EKS agent addresses, so a stray variable cannot send the token elsewhere. */
static bool
bd_container_uri_allowed(const char *uri, std::string *why)
{
    CURLU *u = curl_url();
    char *scheme = nullptr, *host = nullptr;
    bool ok = false;
    if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        *why = std::string("AWS_CONTAINER_CREDENTIALS_FULL_URI \"") + uri + "\" is not a URL";
    } else if (strcasecmp(scheme, "https") == 0) {
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        std::string hs = host;
        unsigned char a[16];
        if (hs.size() > 2 && hs.front() == '[' && hs.back() == ']') {
            hs = hs.substr(1, hs.size() - 2);
        }
        static const unsigned char ecs_v6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                                 0,    0,    0,    0,    0, 0, 0, 0x23};
        ok = strcasecmp(hs.c_str(), "localhost") == 0 || hs == "169.254.170.2"
             || hs == "169.254.170.23"
             || (inet_pton(AF_INET, hs.c_str(), a) == 1 && a[0] == 127)
             || (inet_pton(AF_INET6, hs.c_str(), a) == 1
                 && (memcmp(a, &in6addr_loopback, 16) == 0 || memcmp(a, ecs_v6, 16) == 0));
    }
    if (!ok && why->empty()) {
        *why = std::string("AWS_CONTAINER_CREDENTIALS_FULL_URI \"") + uri
               + "\" must be https or http to a loopback or container-agent address";
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static int
bd_container_token(const bd_credentials_ctx_t *ctx, std::string *token, std::string *err)
{
    const char *file = bd_aws_env_get(ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = bd_aws_env_get(ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    token->clear();
    if (file != nullptr) {
        if (bd_credentials_read_file(file, token, err) != 0) {
            return -1;
        }
        bd_trim_right(token);
    } else if (value != nullptr) {
        *token = value;
    }
    if (token->find_first_of("\r\n") != std::string::npos) {
        *err = "the container authorization token contains a line break";
        return -1;
    }
    return 0;
}

int
bd_credentials_from_container(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res)
{
    const char *rel = bd_aws_env_get(ctx->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = bd_aws_env_get(ctx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string url, token, err;
    res->source = "container";
    if (rel != nullptr) {
        url = std::string(BD_CONTAINER_HOST) + (rel[0] == '/' ? "" : "/") + rel;
    } else if (full != nullptr) {
        if (!bd_container_uri_allowed(full, &res->error)) {
            return BD_CREDENTIALS_FAILED;
        }
        url = full;
    } else {
        res->error = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set";
        return BD_CREDENTIALS_SKIP;
    }
    if (bd_container_token(ctx, &token, &err) != 0) {
        res->error = err;
        return BD_CREDENTIALS_FAILED;
    }
    std::vector<std::string> headers = {"Accept: application/json"};
    if (!token.empty()) {
        headers.push_back("Authorization: " + token); /* raw, no "Bearer" */
    }
    bd_http_resp_t resp = {};
    if (bd_http_fetch(ctx, "GET", url, headers, nullptr, ctx->http_timeout_ms, true, &resp) != 0) {
        res->error = resp.error;
        return BD_CREDENTIALS_FAILED;
    }
    if (resp.status != 200) {
        std::string msg;
        bd_credentials_json_string(resp.body.data(), resp.body.size(), "Message", &msg);
        res->error = "GET " + url + ": HTTP " + std::to_string(resp.status)
                     + (msg.empty() ? "" : ": " + msg);
        return BD_CREDENTIALS_FAILED;
    }
    if (bd_credentials_parse_json(resp.body.data(), resp.body.size(), res) != 0) {
        return BD_CREDENTIALS_FAILED;
    }
    return BD_CREDENTIALS_FOUND;
}

static bool
bd_env_true(const bd_credentials_ctx_t *ctx, const char *name)
{
    const char *v = bd_aws_env_get(ctx->env, name);
    return v != nullptr && strcasecmp(v, "true") == 0;
}

/* IMDSv2 session token, or "" to fall back to IMDSv1 when the service has no v2. */
static int
bd_imds_token(const bd_credentials_ctx_t *ctx, const std::string &base, std::string *token,
              std::string *err)
{
    std::vector<std::string> headers = {"X-aws-ec2-metadata-token-ttl-seconds: 21600",
                                        "Content-Type:"};
    std::string empty;
    bd_http_resp_t resp = {};
    if (bd_http_fetch(ctx, "PUT", base + "/latest/api/token", headers, &empty,
                      ctx->http_timeout_ms, true, &resp) != 0) {
        *err = resp.error;
        return -1;
    }
    if (resp.status == 200 && !resp.body.empty()) {
        *token = resp.body;
        return 0;
    }
    bool no_v2 = resp.status == 403 || resp.status == 404 || resp.status == 405;
    if (no_v2 && !bd_env_true(ctx, "AWS_EC2_METADATA_V1_DISABLED")) {
        token->clear();
        return 0;
    }
    *err = "PUT " + base + "/latest/api/token: HTTP " + std::to_string(resp.status);
    return -1;
}

static int
bd_imds_get(const bd_credentials_ctx_t *ctx, const std::string &url, const std::string &token,
            std::string *body, std::string *err)
{
    std::vector<std::string> headers;
    if (!token.empty()) {
        headers.push_back("X-aws-ec2-metadata-token: " + token);
    }
    bd_http_resp_t resp = {};
    if (bd_http_fetch(ctx, "GET", url, headers, nullptr, ctx->http_timeout_ms, true, &resp) != 0) {
        *err = resp.error;
        return -1;
    }
    if (resp.status != 200) {
        *err = "GET " + url + ": HTTP " + std::to_string(resp.status)
               + (resp.status == 404 ? " (no IAM role attached?)" : "");
        return -1;
    }
    *body = resp.body;
    return 0;
}

int
bd_credentials_from_imds(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res)
{
    res->source = "imds";
    if (bd_env_true(ctx, "AWS_EC2_METADATA_DISABLED")) {
        res->error = "AWS_EC2_METADATA_DISABLED is true";
        return BD_CREDENTIALS_SKIP;
    }
    const char *ep = bd_aws_env_get(ctx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = bd_aws_env_get(ctx->env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    std::string base = ep != nullptr ? ep
                       : mode != nullptr && strcasecmp(mode, "IPv6") == 0 ? BD_IMDS_DEFAULT_V6
                                                                          : BD_IMDS_DEFAULT;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    std::string token, role, body;
    std::string list = base + "/latest/meta-data/iam/security-credentials/";
    if (bd_imds_token(ctx, base, &token, &res->error) != 0
        || bd_imds_get(ctx, list, token, &role, &res->error) != 0) {
        return BD_CREDENTIALS_FAILED;
    }
    role = role.substr(0, role.find('\n')); /* one role per instance profile; take the first */
    bd_trim_right(&role);
    if (role.empty() || role.find_first_of("/?#") != std::string::npos) {
        res->error = "IMDS returned no usable IAM role name";
        return BD_CREDENTIALS_FAILED;
    }
    if (bd_imds_get(ctx, list + role, token, &body, &res->error) != 0) {
        return BD_CREDENTIALS_FAILED;
    }
    if (bd_credentials_parse_json(body.data(), body.size(), res) != 0) {
        res->error = "IMDS: " + res->error;
        return BD_CREDENTIALS_FAILED;
    }
    return BD_CREDENTIALS_FOUND;
}

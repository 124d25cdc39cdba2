/*
 * bd_aws_endpoint.cc: region and per-service endpoint resolution with the SDKs'
 * precedence (conf, then AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the
 * default host). No shared state; safe on any thread; the region lookup may read
 * the shared config files, so call it at conf time, not on a reactor.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/aws/bd_aws_endpoint.h"
#include "core/aws/bd_credentials_int.h"

struct bd_aws_service_t {
    const char *name;         /* as callers name it */
    const char *env_suffix;   /* AWS_ENDPOINT_URL_<suffix> */
    const char *signing_name; /* SigV4 service */
};

static const bd_aws_service_t bd_aws_services[] = {
    {.name = "bedrock-runtime", .env_suffix = "BEDROCK_RUNTIME", .signing_name = "bedrock"},
    {.name = "bedrock", .env_suffix = "BEDROCK", .signing_name = "bedrock"},
    {.name = "sts", .env_suffix = "STS", .signing_name = "sts"},
    {.name = "dynamodb", .env_suffix = "DYNAMODB", .signing_name = "dynamodb"},
};

static void
bd_endpoint_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == nullptr || err_len == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

const char *
bd_aws_env_get(const bd_aws_env_t *env, const char *name)
{
    const char *v = env != nullptr && env->getenv != nullptr ? env->getenv(env->data, name)
                                                             : getenv(name);
    return v != nullptr && v[0] != '\0' ? v : nullptr;
}

std::string
bd_aws_profile_name(const char *conf_profile, const bd_aws_env_t *env)
{
    if (conf_profile != nullptr && conf_profile[0] != '\0') {
        return conf_profile;
    }
    const char *v = bd_aws_env_get(env, "AWS_PROFILE");
    if (v == nullptr) {
        v = bd_aws_env_get(env, "AWS_DEFAULT_PROFILE");
    }
    return v != nullptr ? v : "default";
}

std::string
bd_aws_region_resolve(const char *conf_region, const char *conf_profile, const bd_aws_env_t *env)
{
    if (conf_region != nullptr && conf_region[0] != '\0') {
        return conf_region;
    }
    const char *v = bd_aws_env_get(env, "AWS_REGION");
    if (v == nullptr) {
        v = bd_aws_env_get(env, "AWS_DEFAULT_REGION");
    }
    if (v != nullptr) {
        return v;
    }
    bd_aws_profile_t pr;
    std::string name = bd_aws_profile_name(conf_profile, env);
    bd_aws_profile_load(env, name.c_str(), &pr);
    v = bd_aws_profile_get(&pr, "region");
    return v != nullptr ? v : "";
}

/* Region names become part of a host name: allow only what AWS uses. */
static bool
bd_region_valid(const char *r)
{
    if (r == nullptr || r[0] == '\0' || strlen(r) > 64) {
        return false;
    }
    for (const char *p = r; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            return false;
        }
    }
    return true;
}

int
bd_aws_endpoint_parse_url(const char *url, bd_aws_endpoint_t *out, char *err, size_t err_len)
{
    const char *p;
    int default_port;
    if (strncasecmp(url, "https://", 8) == 0) {
        out->scheme = "https";
        p = url + 8;
        default_port = 443;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        out->scheme = "http";
        p = url + 7;
        default_port = 80;
    } else {
        bd_endpoint_err(err, err_len, "endpoint \"%s\" is not an http:// or https:// URL", url);
        return -1;
    }
    size_t hl = strcspn(p, "/?#");
    if (p[hl] == '?' || p[hl] == '#' || strchr(p, '?') != nullptr || strchr(p, '#') != nullptr) {
        bd_endpoint_err(err, err_len, "endpoint \"%s\" must not have a query or fragment", url);
        return -1;
    }
    std::string host(p, hl);
    if (host.empty() || host.find('@') != std::string::npos) {
        bd_endpoint_err(err, err_len, "endpoint \"%s\" has no usable host", url);
        return -1;
    }
    /* Drop a default port: HTTP clients leave it out of Host, and SigV4 signs Host. */
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
        char *end = nullptr;
        long port = strtol(host.c_str() + colon + 1, &end, 10);
        if (colon + 1 == host.size() || *end != '\0' || port <= 0 || port > 65535) {
            bd_endpoint_err(err, err_len, "endpoint \"%s\" has a bad port", url);
            return -1;
        }
        if (port == default_port) {
            host.resize(colon);
        }
    }
    for (char &c : host) {
        c = (char)tolower((unsigned char)c);
    }
    out->host = host;
    out->base_path = p + hl;
    while (!out->base_path.empty() && out->base_path.back() == '/') {
        out->base_path.pop_back();
    }
    out->url = out->scheme + "://" + out->host + out->base_path;
    return 0;
}

static const char *
bd_endpoint_env_override(const bd_aws_service_t *svc, const bd_aws_env_t *env)
{
    const char *ignore = bd_aws_env_get(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore != nullptr && strcasecmp(ignore, "true") == 0) {
        return nullptr;
    }
    std::string var = std::string("AWS_ENDPOINT_URL_") + svc->env_suffix;
    const char *v = bd_aws_env_get(env, var.c_str());
    return v != nullptr ? v : bd_aws_env_get(env, "AWS_ENDPOINT_URL");
}

int
bd_aws_endpoint_resolve(const char *service, const char *region, const char *conf_url,
                        const bd_aws_env_t *env, bd_aws_endpoint_t *out, char *err,
                        size_t err_len)
{
    const bd_aws_service_t *svc = nullptr;
    for (const auto &s : bd_aws_services) {
        if (strcmp(s.name, service) == 0) {
            svc = &s;
        }
    }
    if (svc == nullptr) {
        bd_endpoint_err(err, err_len, "unknown AWS service \"%s\"", service);
        return -1;
    }
    bool have_region = region != nullptr && region[0] != '\0';
    if (have_region && !bd_region_valid(region)) {
        bd_endpoint_err(err, err_len, "malformed region \"%s\"", region);
        return -1;
    }
    out->signing_name = svc->signing_name;
    out->region = have_region ? region : "";
    const char *url = conf_url != nullptr && conf_url[0] != '\0' ? conf_url
                                                                 : bd_endpoint_env_override(svc, env);
    if (url != nullptr) {
        out->overridden = true;
        return bd_aws_endpoint_parse_url(url, out, err, err_len);
    }
    out->overridden = false;
    std::string host;
    if (!have_region && strcmp(service, "sts") == 0) {
        host = "sts.amazonaws.com"; /* the global endpoint signs as us-east-1 */
        out->region = "us-east-1";
    } else if (!have_region) {
        bd_endpoint_err(err, err_len, "no AWS region for %s (set a region, AWS_REGION or "
                        "AWS_DEFAULT_REGION)", service);
        return -1;
    } else {
        const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        host = std::string(service) + "." + region + "." + suffix;
    }
    out->scheme = "https";
    out->host = host;
    out->base_path.clear();
    out->url = "https://" + host;
    return 0;
}

bool
bd_aws_env_names_proxy(void)
{
    static const char *const names[] = {
        "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
        "no_proxy", "NO_PROXY",
    };
    for (const char *name : names) {
        if (getenv(name) != NULL) {
            return true;
        }
    }
    return false;
}

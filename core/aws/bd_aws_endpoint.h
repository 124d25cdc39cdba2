/*
 * bd_aws_endpoint.h: where bedrockd's AWS calls go: the region, and the endpoint
 * of each service it calls (bedrock-runtime, bedrock, sts, dynamodb), resolved the
 * way the AWS SDKs do from conf, environment and the shared config file.
 * Pure functions over their inputs (plus one read of the config file for a profile
 * region); safe on any thread, but they may read a file: call them at conf time.
 */
#ifndef BD_AWS_ENDPOINT_H
#define BD_AWS_ENDPOINT_H

#include <stddef.h>
#include <string>

/* Environment lookup: returns the value of <name> or null. The value must stay
 * valid until the next call. Tests inject a fixed map so they never call setenv. */
typedef const char *(*bd_aws_getenv_pt)(void *data, const char *name);

/* A view of the environment; a null pointer to it, or a null <getenv>, means
 * the process environment (getenv(3)). */
struct bd_aws_env_t {
    bd_aws_getenv_pt getenv;
    void *data;
};

/* Looks <name> up in <env>; returns null when unset. Empty values count as unset,
 * as the SDKs treat them. */
const char *bd_aws_env_get(const bd_aws_env_t *env, const char *name);

/* The profile name in effect: <conf_profile> if non-empty, else AWS_PROFILE, else
 * AWS_DEFAULT_PROFILE, else "default". */
std::string bd_aws_profile_name(const char *conf_profile, const bd_aws_env_t *env);

/* The region: <conf_region> if non-empty, else AWS_REGION, else AWS_DEFAULT_REGION,
 * else `region` of the profile (bd_aws_profile_name(<conf_profile>)) in the shared
 * config/credentials files, else "" (the caller reports the error). May read files. */
std::string bd_aws_region_resolve(const char *conf_region, const char *conf_profile,
                                  const bd_aws_env_t *env);

/* A resolved endpoint. The request line goes to `url` + operation path; the Host
 * header (and the SigV4 `host`) must be `host` exactly. */
struct bd_aws_endpoint_t {
    std::string scheme;       /* "https" or "http" */
    std::string host;         /* host[:port]; port only when not the scheme's default;
                                 IPv6 literals keep their brackets */
    std::string base_path;    /* "" or "/prefix" without a trailing '/' */
    std::string url;          /* scheme://host + base_path, no trailing '/' */
    std::string region;       /* signing region (the input region) */
    std::string signing_name; /* "bedrock" for bedrock-runtime and bedrock, else the service */
    bool overridden = false;  /* from conf or AWS_ENDPOINT_URL* rather than the default host */
};

/* Resolves the endpoint of <service> ("bedrock-runtime", "bedrock", "sts", "dynamodb"):
 * <conf_url> if non-empty, else AWS_ENDPOINT_URL_<SERVICE> (BEDROCK_RUNTIME, BEDROCK,
 * STS, DYNAMODB), else AWS_ENDPOINT_URL, else https://<service>.<region>.amazonaws.com
 * (".amazonaws.com.cn" for cn-* regions). AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true
 * turns the environment overrides off. For "sts" with an empty <region> the default
 * is the global https://sts.amazonaws.com (signing region us-east-1).
 * Returns 0 and fills <out>, or -1 with a message in <err> (unknown service, bad URL,
 * empty or malformed region where the default host needs one). */
int bd_aws_endpoint_resolve(const char *service, const char *region, const char *conf_url,
                            const bd_aws_env_t *env, bd_aws_endpoint_t *out, char *err,
                            size_t err_len);

/* Splits an absolute http(s) URL into <out>'s scheme, host and base_path (and url).
 * Returns 0, or -1 with <err> (not http/https, no host, query or fragment present). */
int bd_aws_endpoint_parse_url(const char *url, bd_aws_endpoint_t *out, char *err, size_t err_len);

/* Whether the environment holds a variable libcurl reads for the proxy of an http
 * or https URL. Without one, a call that says "no proxy" itself (CURLOPT_PROXY and
 * CURLOPT_NOPROXY "") spares libcurl five getenv calls per call. */
bool bd_aws_env_names_proxy(void);

#endif

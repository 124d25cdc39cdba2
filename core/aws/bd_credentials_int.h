/*
 * bd_credentials_int.h: the parts of the credential provider shared between its
 * files (sources, shared-file parser, response parsers). Not for other callers.
 * Everything here runs on the refresh thread, except the pure parsers and the
 * profile loader, which are safe on any thread.
 */
#ifndef BD_CREDENTIALS_INT_H
#define BD_CREDENTIALS_INT_H

#include <atomic>
#include <map>
#include <string>

#include "core/aws/bd_credentials.h"

/* What one source reports. */
enum {
    BD_CREDENTIALS_FOUND = 0,   /* <res> holds a set */
    BD_CREDENTIALS_SKIP = 1,    /* not configured here; the chain goes on */
    BD_CREDENTIALS_FAILED = -1, /* configured but failed; <res->error> says why */
};

/* What a source needs from the provider, for one resolution. */
struct bd_credentials_ctx_t {
    const bd_aws_env_t *env;
    const std::atomic<bool> *stop; /* set by destroy: abort fetches */
    int64_t now_ms;                /* wall clock at the start of the resolution */
    int64_t http_timeout_ms;
    int64_t sts_timeout_ms;
    const char *profile;           /* conf profile or null */
    const char *region;            /* conf region or null */
    const char *sts_endpoint;      /* conf STS URL or null */
};

/* The plain result of a source, turned into a bd_credentials_t on success. */
struct bd_credentials_result_t {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    std::string bearer_token;
    int64_t expiration_ms = 0;
    std::string source;
    std::string error;
};

/* One profile's keys, merged from the config and credentials files. */
struct bd_aws_profile_t {
    std::string name;
    std::map<std::string, std::string> values; /* lowercased keys; "a.b" for sub-sections */
    bool found = false;                        /* the profile exists in either file */
};

/* Parses INI <text> and stores the keys of profile <name> into <values> (a later
 * duplicate wins). <config_file> selects the `[profile x]` header form. Returns true
 * when the section exists. Pure. */
bool bd_aws_ini_profile(const char *text, size_t len, bool config_file, const char *name,
                        std::map<std::string, std::string> *values);

/* Loads profile <name> from AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE (defaults
 * under $HOME/.aws); credentials-file values win. Missing files are fine. */
void bd_aws_profile_load(const bd_aws_env_t *env, const char *name, bd_aws_profile_t *out);

/* The value of <key> in <pr>, or null. */
const char *bd_aws_profile_get(const bd_aws_profile_t *pr, const char *key);

/* Reads a whole small file (at most 1 MiB). Returns 0, or -1 with <err>. */
int bd_credentials_read_file(const char *path, std::string *out, std::string *err);

/* Runs the chain (AUTO) or the one chosen <source>. Returns FOUND or FAILED; on
 * FAILED res->error holds the reason for /ready. */
int bd_credentials_resolve(const bd_credentials_ctx_t *ctx, int source,
                           const bd_credentials_options_t *opts, bd_credentials_result_t *res);

/* The network sources (bd_credentials_http.cc). */
int bd_credentials_from_web_identity(const bd_credentials_ctx_t *ctx, const char *token_file,
                                     const char *role_arn, const char *session_name,
                                     bd_credentials_result_t *res);
int bd_credentials_from_container(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res);
int bd_credentials_from_imds(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res);

/* Response parsers (bd_credentials_parse.cc), pure. */

/* Container/IMDS JSON: a top-level object with AccessKeyId, SecretAccessKey, Token,
 * Expiration (and maybe Code/Message). Returns 0, or -1 with res->error. */
int bd_credentials_parse_json(const char *body, size_t len, bd_credentials_result_t *res);

/* The string value of top-level member <name> of a JSON object, unescaped.
 * Returns 1 found, 0 absent or not a string, -1 malformed JSON. */
int bd_credentials_json_string(const char *body, size_t len, const char *name, std::string *out);

/* STS AssumeRoleWithWebIdentity XML (or an ErrorResponse). Returns 0, or -1 with
 * res->error ("InvalidIdentityToken: message"). */
int bd_credentials_parse_sts_xml(const char *body, size_t len, bd_credentials_result_t *res);

/* The unescaped text of the first element <name> inside <xml>. Returns 1 or 0. */
int bd_credentials_xml_text(const char *xml, size_t len, const char *name, std::string *out);

/* application/x-www-form-urlencoded value encoding (RFC 3986 unreserved kept). */
std::string bd_credentials_form_encode(const char *s);

#endif

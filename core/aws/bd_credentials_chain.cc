/*
 * bd_credentials_chain.cc: which source supplies credentials. The default chain tries,
 * in the SDKs' order, a Bedrock API key, the env keys, the shared-file profile, web
 * identity, the container endpoint and EC2 IMDS; it stops at the first source that is
 * configured, whether it works or not, so a broken setup is reported, not masked.
 * Runs on the refresh thread only (sources may block on HTTP).
 */
#include <string.h>
#include <strings.h>

#include "core/aws/bd_credentials_int.h"

static int
bd_from_bearer(const bd_credentials_ctx_t *ctx, const bd_credentials_options_t *opts,
               bd_credentials_result_t *res)
{
    const char *token = opts->bearer_token != nullptr && opts->bearer_token[0] != '\0'
                            ? opts->bearer_token
                            : bd_aws_env_get(ctx->env, "AWS_BEARER_TOKEN_BEDROCK");
    if (token == nullptr) {
        res->error = "AWS_BEARER_TOKEN_BEDROCK is not set";
        return BD_CREDENTIALS_SKIP;
    }
    res->bearer_token = token;
    res->source = "bearer";
    return BD_CREDENTIALS_FOUND;
}

static int
bd_from_static(const bd_credentials_options_t *opts, bd_credentials_result_t *res)
{
    res->access_key_id = opts->access_key_id;
    res->secret_access_key = opts->secret_access_key;
    res->session_token = opts->session_token != nullptr ? opts->session_token : "";
    res->source = "static";
    return BD_CREDENTIALS_FOUND;
}

static int
bd_from_env(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res)
{
    const char *id = bd_aws_env_get(ctx->env, "AWS_ACCESS_KEY_ID");
    const char *secret = bd_aws_env_get(ctx->env, "AWS_SECRET_ACCESS_KEY");
    if (id == nullptr && secret == nullptr) {
        res->error = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set";
        return BD_CREDENTIALS_SKIP;
    }
    if (id == nullptr || secret == nullptr) {
        res->error = id == nullptr ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                   : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not";
        return BD_CREDENTIALS_FAILED;
    }
    const char *token = bd_aws_env_get(ctx->env, "AWS_SESSION_TOKEN");
    if (token == nullptr) {
        token = bd_aws_env_get(ctx->env, "AWS_SECURITY_TOKEN"); /* legacy name botocore reads */
    }
    const char *exp = bd_aws_env_get(ctx->env, "AWS_CREDENTIAL_EXPIRATION");
    if (exp != nullptr && bd_credentials_parse_time(exp, strlen(exp), &res->expiration_ms) != 0) {
        res->error = std::string("bad AWS_CREDENTIAL_EXPIRATION \"") + exp + "\"";
        return BD_CREDENTIALS_FAILED;
    }
    res->access_key_id = id;
    res->secret_access_key = secret;
    res->session_token = token != nullptr ? token : "";
    res->source = "env";
    return BD_CREDENTIALS_FOUND;
}

static int
bd_from_profile(const bd_credentials_ctx_t *ctx, const std::string &name,
                bd_credentials_result_t *res)
{
    bd_aws_profile_t pr;
    bd_aws_profile_load(ctx->env, name.c_str(), &pr);
    if (!pr.found) {
        res->error = "profile " + name + " not found in the shared config files";
        return BD_CREDENTIALS_SKIP;
    }
    const char *role = bd_aws_profile_get(&pr, "role_arn");
    const char *token_file = bd_aws_profile_get(&pr, "web_identity_token_file");
    if (role != nullptr && token_file != nullptr) {
        int rc = bd_credentials_from_web_identity(ctx, token_file, role,
                                                  bd_aws_profile_get(&pr, "role_session_name"),
                                                  res);
        res->source = "profile " + name + " (web identity)";
        return rc;
    }
    if (role != nullptr) {
        /* Chained AssumeRole needs signed STS calls and a second profile; run the
         * gateway under web identity, a container role or an instance role instead. */
        res->error = "profile " + name + ": role_arn with source_profile or credential_source "
                     "is not supported";
        return BD_CREDENTIALS_FAILED;
    }
    const char *id = bd_aws_profile_get(&pr, "aws_access_key_id");
    const char *secret = bd_aws_profile_get(&pr, "aws_secret_access_key");
    if (id != nullptr && secret != nullptr) {
        const char *token = bd_aws_profile_get(&pr, "aws_session_token");
        res->access_key_id = id;
        res->secret_access_key = secret;
        res->session_token = token != nullptr ? token : "";
        res->source = "profile " + name;
        return BD_CREDENTIALS_FOUND;
    }
    if (id != nullptr || secret != nullptr) {
        res->error = "profile " + name + " has only one of aws_access_key_id and "
                     "aws_secret_access_key";
        return BD_CREDENTIALS_FAILED;
    }
    if (bd_aws_profile_get(&pr, "credential_process") != nullptr
        || bd_aws_profile_get(&pr, "sso_session") != nullptr
        || bd_aws_profile_get(&pr, "sso_start_url") != nullptr) {
        res->error = "profile " + name + ": credential_process and SSO are not supported";
        return BD_CREDENTIALS_FAILED;
    }
    res->error = "profile " + name + " has no credentials";
    return BD_CREDENTIALS_SKIP;
}

static int
bd_from_web_identity_env(const bd_credentials_ctx_t *ctx, bd_credentials_result_t *res)
{
    const char *file = bd_aws_env_get(ctx->env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = bd_aws_env_get(ctx->env, "AWS_ROLE_ARN");
    if (file == nullptr && role == nullptr) {
        res->error = "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set";
        return BD_CREDENTIALS_SKIP;
    }
    if (file == nullptr || role == nullptr) {
        res->error = file == nullptr ? "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"
                                     : "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not";
        return BD_CREDENTIALS_FAILED;
    }
    return bd_credentials_from_web_identity(ctx, file, role,
                                            bd_aws_env_get(ctx->env, "AWS_ROLE_SESSION_NAME"), res);
}

static int
bd_from_one(const bd_credentials_ctx_t *ctx, int source, const bd_credentials_options_t *opts,
            const std::string &profile, bd_credentials_result_t *res)
{
    switch (source) {
    case BD_CREDENTIALS_ENV:
        return bd_from_env(ctx, res);
    case BD_CREDENTIALS_PROFILE:
        return bd_from_profile(ctx, profile, res);
    case BD_CREDENTIALS_WEB_IDENTITY:
        return bd_from_web_identity_env(ctx, res);
    case BD_CREDENTIALS_CONTAINER:
        return bd_credentials_from_container(ctx, res);
    case BD_CREDENTIALS_IMDS:
        return bd_credentials_from_imds(ctx, res);
    case BD_CREDENTIALS_STATIC:
        return bd_from_static(opts, res);
    case BD_CREDENTIALS_BEARER:
        return bd_from_bearer(ctx, opts, res);
    default:
        res->error = "unknown credentials source";
        return BD_CREDENTIALS_FAILED;
    }
}

static const int bd_chain_order[] = {
    BD_CREDENTIALS_BEARER,   BD_CREDENTIALS_ENV,       BD_CREDENTIALS_PROFILE,
    BD_CREDENTIALS_WEB_IDENTITY, BD_CREDENTIALS_CONTAINER, BD_CREDENTIALS_IMDS,
};

int
bd_credentials_resolve(const bd_credentials_ctx_t *ctx, int source,
                       const bd_credentials_options_t *opts, bd_credentials_result_t *res)
{
    std::string profile = bd_aws_profile_name(ctx->profile, ctx->env);
    if (source != BD_CREDENTIALS_AUTO) {
        int rc = bd_from_one(ctx, source, opts, profile, res);
        if (rc == BD_CREDENTIALS_SKIP) {
            rc = BD_CREDENTIALS_FAILED; /* the one chosen source must work */
        }
        if (rc == BD_CREDENTIALS_FAILED) {
            res->error = std::string(bd_credentials_source_name(source)) + ": " + res->error;
        }
        return rc;
    }
    std::string tried;
    for (int s : bd_chain_order) {
        *res = bd_credentials_result_t();
        int rc = bd_from_one(ctx, s, opts, profile, res);
        if (rc == BD_CREDENTIALS_FOUND) {
            return rc;
        }
        if (s != BD_CREDENTIALS_BEARER) {
            /* The bearer key is an env variable too; "env" covers it in the list. */
            tried += tried.empty() ? "" : ", ";
            tried += s == BD_CREDENTIALS_PROFILE ? "profile " + profile
                                                 : std::string(bd_credentials_source_name(s));
        }
        if (rc == BD_CREDENTIALS_FAILED) {
            res->error = "no AWS credentials found (tried " + tried + ": " + res->error + ")";
            return rc;
        }
    }
    res->error = "no AWS credentials found (tried " + tried + ")";
    return BD_CREDENTIALS_FAILED;
}

const char *
bd_credentials_source_name(int source)
{
    switch (source) {
    case BD_CREDENTIALS_AUTO:
        return "auto";
    case BD_CREDENTIALS_ENV:
        return "env";
    case BD_CREDENTIALS_PROFILE:
        return "profile";
    case BD_CREDENTIALS_WEB_IDENTITY:
        return "web identity";
    case BD_CREDENTIALS_CONTAINER:
        return "container";
    case BD_CREDENTIALS_IMDS:
        return "imds";
    case BD_CREDENTIALS_STATIC:
        return "static";
    case BD_CREDENTIALS_BEARER:
        return "bearer";
    default:
        return "";
    }
}

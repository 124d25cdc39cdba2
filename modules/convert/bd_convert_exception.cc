/*
 * bd_convert_exception.cc: Bedrock exception -> client error. One table gives, per
 * exception, the Anthropic and the OpenAI status and type; Bedrock's message is kept
 * verbatim (clients such as Claude Code act on "prompt is too long"). Pure, any thread.
 */
#include <string.h>
#include <strings.h>

#include "modules/convert/bd_convert_int.h"

struct bd_cv_exception_t {
    const char *name;
    int anthropic_status;
    const char *anthropic_type;
    int openai_status;
    const char *openai_type;
};

/* Indexed by bd_bedrock_exception_e. */
static const bd_cv_exception_t bd_cv_exceptions[] = {
    {"ValidationException", 400, "invalid_request_error", 400, "invalid_request_error"},
    {"AccessDeniedException", 403, "permission_error", 403, "permission_error"},
    {"ResourceNotFoundException", 404, "not_found_error", 404, "invalid_request_error"},
    {"ThrottlingException", 429, "rate_limit_error", 429, "rate_limit_error"},
    /* a quota is a rate limit to the client, although Bedrock says 400 */
    {"ServiceQuotaExceededException", 429, "rate_limit_error", 429, "rate_limit_error"},
    {"ModelNotReadyException", 529, "overloaded_error", 503, "server_error"},
    {"ServiceUnavailableException", 529, "overloaded_error", 503, "server_error"},
    {"InternalServerException", 500, "api_error", 500, "server_error"},
    {"ModelErrorException", 500, "api_error", 500, "server_error"},
    {"ModelStreamErrorException", 500, "api_error", 500, "server_error"},
    /* 504 so that the SDKs retry; Anthropic has no dedicated type for it */
    {"ModelTimeoutException", 504, "api_error", 504, "server_error"},
    {"ConflictException", 400, "invalid_request_error", 400, "invalid_request_error"},
    {nullptr, 500, "api_error", 500, "server_error"},
};

static_assert(sizeof(bd_cv_exceptions) / sizeof(bd_cv_exceptions[0]) == BD_EXC_UNKNOWN + 1,
              "one row per bd_bedrock_exception_e");

int
bd_convert_bedrock_exception_parse(const char *name)
{
    if (!name) {
        return BD_EXC_UNKNOWN;
    }
    /* "ns#Name:http://...,more": cut at ',' then ':', keep what follows '#' */
    size_t n = strcspn(name, ",");
    size_t colon = strcspn(name, ":");
    n = colon < n ? colon : n;
    const char *start = name;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '#') {
            start = name + i + 1;
        }
    }
    n -= (size_t)(start - name);
    for (int i = 0; i < BD_EXC_UNKNOWN; i++) {
        if (strlen(bd_cv_exceptions[i].name) == n &&
            strncasecmp(bd_cv_exceptions[i].name, start, n) == 0) {
            return i;
        }
    }
    return BD_EXC_UNKNOWN;
}

static void
bd_cv_exception_message(int e, const char *message, bd_convert_error_t *err)
{
    if (message && *message) {
        err->message = message;
    } else if (e != BD_EXC_UNKNOWN) {
        err->message = std::string("Bedrock returned ") + bd_cv_exceptions[e].name;
    } else {
        err->message = "Bedrock returned an unknown error";
    }
}

void
bd_convert_bedrock_exception(const char *name, const char *message, bd_convert_error_t *err)
{
    int e = bd_convert_bedrock_exception_parse(name);

    err->status = bd_cv_exceptions[e].anthropic_status;
    err->type = bd_cv_exceptions[e].anthropic_type;
    bd_cv_exception_message(e, message, err);
}

void
bd_convert_bedrock_exception_openai(const char *name, const char *message, bd_convert_error_t *err)
{
    int e = bd_convert_bedrock_exception_parse(name);

    err->status = bd_cv_exceptions[e].openai_status;
    err->type = bd_cv_exceptions[e].openai_type;
    bd_cv_exception_message(e, message, err);
}

const char *
bd_convert_bedrock_error_message(json_t *body)
{
    const char *m = bd_cv_str(body, "message");

    return m ? m : bd_cv_str(body, "Message");
}

/*
 * bd_convert_int.h: helpers shared by the convert module's files (not a public API):
 * typed JSON getters, error setters, base64. Pure, any thread.
 */
#ifndef BD_CONVERT_INT_H
#define BD_CONVERT_INT_H

#include <jansson.h>
#include <stdint.h>
#include <string>
#include <vector>

#include "core/bd_json_scan.h"
#include "modules/convert/bd_convert.h"

/* Borrowed member <key> of <o> when it is a string, else null. */
const char *bd_cv_str(json_t *o, const char *key);

/* A Bedrock document name made from <text> (up to <end>, or its NUL when null):
 * alphanumerics, single spaces, hyphens, parentheses, brackets; unique among
 * <used>, to which it is added ("document-N" when nothing usable is left). */
std::string bd_cv_doc_name(std::vector<std::string> *used, const char *text, const char *end);

/* Member <key> of <o> when it is an integer: 0 and *v set, else -1. */
int bd_cv_int(json_t *o, const char *key, int64_t *v);

/* Sets <err> to <status>/<type> with message "<path>: <what>" (just <what> when path
 * is empty) and returns -1, so that callers can `return bd_cv_fail(...)`. */
int bd_cv_fail(bd_convert_error_t *err, int status, const char *type, const std::string &path,
               const std::string &what);

/* 400 invalid_request_error shorthand. */
int bd_cv_bad(bd_convert_error_t *err, const std::string &path, const std::string &what);

/* 502 api_error for an upstream answer we cannot read. */
int bd_cv_upstream(bd_convert_error_t *err, const std::string &what);

/* Standard base64 with padding. Decode returns -1 on invalid input. */
void bd_cv_base64_encode(const unsigned char *p, size_t n, std::string *out);
int bd_cv_base64_decode(const char *s, size_t n, std::string *out);

/* "messages.3.content" style path building. */
std::string bd_cv_path(const std::string &base, const char *key);
std::string bd_cv_path(const std::string &base, size_t index);

/* Sets <key> to a new string / integer on <o>. */
void bd_cv_set_str(json_t *o, const char *key, const char *s);
void bd_cv_set_int(json_t *o, const char *key, int64_t v);

/* The usage of a message_delta event (new reference). */
json_t *bd_cv_usage_delta(const bd_convert_usage_t *u);

/* Appends the usage object of a whole Anthropic message. */
void bd_cv_usage_write(const bd_convert_usage_t *u, std::string *out);

/* The string literal <lit> (quotes included, as a scan found it) decoded into <out>;
 * escapes are rare in what the scans read (stop reasons, base64, event names), so
 * only then does jansson decode it. */
void bd_cv_scan_string(const bd_json_span_t *lit, std::string *out);

/* Appends <j> as compact JSON (bd_convert_json_dump without the clear). */
int bd_cv_json_append(json_t *j, std::string *out);

/* Bedrock citation -> Anthropic citation (new reference), locations per the mapping table. */
json_t *bd_cv_citation(json_t *c);

/* Parses the anthropic-beta header per model data; returns a new array (maybe empty) of
 * the Bedrock names to send. The client's betas the model does not accept are appended
 * to <dropped> when it is not null. */
json_t *bd_cv_betas(const char *header, const bd_convert_model_t *m,
                    std::vector<std::string> *dropped);

/* Applies the fates of beta-gated members (fates.cc) for the route (<invoke> or
 * Converse): returns a new body to convert, or null with a 400. <req> is not modified. */
json_t *bd_cv_fates(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                    bool invoke, bd_convert_error_t *err);

/* True when <header> lists <beta> (exact, comma separated) and the model accepts it, so
 * that it reaches Bedrock (under its own name or a beta_rename). */
bool bd_cv_beta_forwarded(const char *header, const bd_convert_model_t *m, const char *beta);

/* Validates an Anthropic messages body (validate.cc). <need_max_tokens> is false for
 * count_tokens. Returns 0 or -1 with a 400. */
int bd_cv_validate(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                   bool need_max_tokens, bd_convert_error_t *err);

/* Parts of bd_cv_validate in validate_params.cc: sampling, stop sequences, metadata and
 * unsupported members; tools, tool_choice and thinking. */
int bd_cv_validate_params(json_t *req, bd_convert_error_t *err);
int bd_cv_validate_tools(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                         bool need_max_tokens, bd_convert_error_t *err, int *cache_controls);

/* Capped max_tokens of a validated request (0 when absent). */
int64_t bd_cv_max_tokens(json_t *req, const bd_convert_model_t *m);

/* Builds the Converse request (converse.cc). <count_only> keeps only the members the
 * CountTokens converse input accepts. */
int bd_cv_converse_build(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                         bool count_only, bd_convert_request_t *out, bd_convert_error_t *err);

/* State of one Anthropic -> Converse conversion (converse.cc, converse_blocks.cc). */
struct bd_cv_cctx_t {
    const bd_convert_model_t *m;
    bd_convert_request_t *out;
    bd_convert_error_t *err;
    std::vector<std::string> doc_names;  /* document names used so far: they must be unique */
    std::vector<std::string> tool_names; /* tool names used in the history */
    bool has_tool_blocks;                /* the history holds toolUse or toolResult blocks */
};

/* Converts <req>'s messages (and role "system" messages, appended to <system>) into
 * Converse <messages>: blank text dropped, same-role turns merged, toolResults first in
 * user turns and toolUse last in assistant turns, first turn user. */
int bd_cv_converse_messages(bd_cv_cctx_t *c, json_t *req, json_t *messages, json_t *system);

/* Appends {"cachePoint":{...}} to <list> when <block> has cache_control. */
void bd_cv_cache_point(json_t *list, json_t *block);

/* Text that stands in where Bedrock refuses emptiness (tool results, first turn). */
#define BD_CV_PLACEHOLDER "(empty)"

/* Builds the native InvokeModel body (invoke.cc). */
int bd_cv_invoke_build(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                       bool count_only, bd_convert_request_t *out, bd_convert_error_t *err);

#endif

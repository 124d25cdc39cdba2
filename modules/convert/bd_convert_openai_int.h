/*
 * bd_convert_openai_int.h: what the OpenAI adapter's files share (not a public API): the
 * state of one Chat Completions -> Converse conversion and the message converter.
 * Pure, any thread.
 */
#ifndef BD_CONVERT_OPENAI_INT_H
#define BD_CONVERT_OPENAI_INT_H

#include <jansson.h>

#include <string>
#include <vector>

#include "modules/convert/bd_convert_int.h"
#include "modules/convert/bd_convert_openai.h"

struct bd_cvo_ctx_t {
    const bd_convert_model_t *m;
    bd_convert_request_t *out;
    bd_convert_error_t *err;
    std::vector<std::string> doc_names;  /* document names used so far: they must be unique */
    std::vector<std::string> tool_names; /* tool names the history calls */
    bool has_tool_blocks;                /* the history holds toolUse or toolResult blocks */
};

/* Converts the OpenAI <msgs> into Converse <messages>, hoisting system and developer
 * messages into <system>: blank text dropped, same-role turns merged, toolResults first
 * in user turns, toolUse last in assistant turns, first turn user. Returns 0, or -1 with
 * a 400 in c->err. */
int bd_cvo_messages(bd_cvo_ctx_t *c, json_t *msgs, json_t *messages, json_t *system);

/* True when <s> is null or only whitespace. */
bool bd_cvo_blank(const char *s);

/* "messages[3].content" style paths, as OpenAI names parameters. */
std::string bd_cvo_path(const std::string &base, const char *key);
std::string bd_cvo_index(const std::string &base, size_t i);

#endif

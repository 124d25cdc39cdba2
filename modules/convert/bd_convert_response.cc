/*
 * bd_convert_response.cc: a walked Converse response -> an Anthropic Message. Pure,
 * any thread. Blocks this build does not know are skipped; empty text is dropped, but
 * an end_turn answer keeps one text block so that SDK helpers (finalText) work.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

json_t *
bd_cv_citation(json_t *c)
{
    json_t *loc = json_object_get(c, "location");
    json_t *out = json_object();
    std::string cited;
    size_t i;
    json_t *s;
    json_t *l;

    json_array_foreach(json_object_get(c, "sourceContent"), i, s) {
        cited += bd_cv_str(s, "text") ? bd_cv_str(s, "text") : "";
    }
    if ((l = json_object_get(loc, "documentChar"))) {
        json_object_set_new(out, "type", json_string("char_location"));
        json_object_set(out, "document_index", json_object_get(l, "documentIndex"));
        json_object_set(out, "start_char_index", json_object_get(l, "start"));
        json_object_set(out, "end_char_index", json_object_get(l, "end"));
    } else if ((l = json_object_get(loc, "documentPage"))) {
        json_object_set_new(out, "type", json_string("page_location"));
        json_object_set(out, "document_index", json_object_get(l, "documentIndex"));
        json_object_set(out, "start_page_number", json_object_get(l, "start"));
        json_object_set(out, "end_page_number", json_object_get(l, "end"));
    } else if ((l = json_object_get(loc, "documentChunk"))) {
        json_object_set_new(out, "type", json_string("content_block_location"));
        json_object_set(out, "document_index", json_object_get(l, "documentIndex"));
        json_object_set(out, "start_block_index", json_object_get(l, "start"));
        json_object_set(out, "end_block_index", json_object_get(l, "end"));
    } else {
        json_object_set_new(out, "type", json_string("char_location"));
    }
    json_object_set_new(out, "cited_text", json_string(cited.c_str()));
    json_t *title = json_object_get(c, "title");
    json_object_set_new(out, "document_title",
                        json_is_string(title) ? json_copy(title) : json_null());
    return out;
}

static json_t *
bd_cv_block_anthropic(const bd_bedrock_block_t *b)
{
    switch (b->kind) {
    case BD_BLOCK_TEXT:
        if (b->text.empty()) {
            return nullptr;
        }
        return json_pack("{s:s,s:s,s:n}", "type", "text", "text", b->text.c_str(), "citations");
    case BD_BLOCK_REASONING:
        return json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking", b->text.c_str(),
                         "signature", b->signature ? b->signature : "");
    case BD_BLOCK_REDACTED:
        return json_pack("{s:s,s:s}", "type", "redacted_thinking", "data", b->data);
    case BD_BLOCK_TOOL_USE:
        return json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", b->id, "name", b->name,
                         "input", b->input ? json_incref(b->input) : json_object());
    case BD_BLOCK_CITATIONS: {
        json_t *cits = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(b->citations, i, c) {
            json_array_append_new(cits, bd_cv_citation(c));
        }
        return json_pack("{s:s,s:s,s:o}", "type", "text", "text", b->text.c_str(), "citations",
                         cits);
    }
    default:
        return nullptr;
    }
}

json_t *
bd_convert_converse_to_anthropic(json_t *resp, const char *msg_id, const char *client_model,
                                 bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_bedrock_response_t r;

    if (bd_convert_converse_walk(resp, &r, err) != 0) {
        return nullptr;
    }
    json_t *content = json_array();
    for (const bd_bedrock_block_t &b : r.blocks) {
        json_t *j = bd_cv_block_anthropic(&b);
        if (j) {
            json_array_append_new(content, j);
        }
    }
    const char *stop = bd_convert_stop_anthropic(r.stop);
    if (json_array_size(content) == 0 && strcmp(stop, "end_turn") == 0) {
        json_array_append_new(content,
                              json_pack("{s:s,s:s,s:n}", "type", "text", "text", "", "citations"));
    }
    json_t *m =
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "id", msg_id, "type", "message", "role", "assistant",
                  "model", client_model, "content", content, "stop_reason", stop);
    bool seq = r.stop == BD_STOP_STOP_SEQUENCE && r.stop_sequence;
    json_object_set_new(m, "stop_sequence", seq ? json_string(r.stop_sequence) : json_null());
    json_object_set_new(m, "usage", bd_cv_usage_anthropic(&r.usage, true));
    if (usage) {
        *usage = r.usage;
    }
    return m;
}

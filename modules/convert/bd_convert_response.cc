/*
 * bd_convert_response.cc: a walked Converse response -> an Anthropic Message, written
 * as text. Pure, any thread. Blocks this build does not know are skipped; empty text
 * is dropped, but an end_turn answer keeps one text block so that SDK helpers
 * (finalText) work.
 */
#include <string.h>

#include "core/bd_json.h"
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

static void
bd_cv_write_str(std::string *out, const char *key, const char *value)
{
    out->append(",\"").append(key).append("\":");
    bd_json_append_string(out, value, strlen(value));
}

/* One Anthropic content block for <b>: false when it has none (empty text, unknown). */
static bool
bd_cv_block_write(const bd_bedrock_block_t *b, std::string *out)
{
    switch (b->kind) {
    case BD_BLOCK_TEXT:
        if (b->text.empty()) {
            return false;
        }
        out->append("{\"type\":\"text\"");
        bd_cv_write_str(out, "text", b->text.c_str());
        out->append(",\"citations\":null}");
        return true;
    case BD_BLOCK_REASONING:
        out->append("{\"type\":\"thinking\"");
        bd_cv_write_str(out, "thinking", b->text.c_str());
        bd_cv_write_str(out, "signature", b->signature ? b->signature : "");
        out->push_back('}');
        return true;
    case BD_BLOCK_REDACTED:
        out->append("{\"type\":\"redacted_thinking\"");
        bd_cv_write_str(out, "data", b->data);
        out->push_back('}');
        return true;
    case BD_BLOCK_TOOL_USE:
        out->append("{\"type\":\"tool_use\"");
        bd_cv_write_str(out, "id", b->id);
        bd_cv_write_str(out, "name", b->name);
        out->append(",\"input\":");
        if (b->input) {
            bd_cv_json_append(b->input, out);
        } else {
            out->append("{}");
        }
        out->push_back('}');
        return true;
    case BD_BLOCK_CITATIONS: {
        out->append("{\"type\":\"text\"");
        bd_cv_write_str(out, "text", b->text.c_str());
        out->append(",\"citations\":[");
        size_t i;
        json_t *c;
        json_array_foreach(b->citations, i, c) {
            json_t *cit = bd_cv_citation(c);
            out->append(i > 0 ? "," : "");
            bd_cv_json_append(cit, out);
            json_decref(cit);
        }
        out->append("]}");
        return true;
    }
    default:
        return false;
    }
}

/* Written as text, in the order Anthropic's own answers use: a tree plus a dump
 * was a tenth of a small request's instructions. */
int
bd_convert_converse_answer(json_t *resp, const char *msg_id, const char *client_model,
                           std::string *out, bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_bedrock_response_t r;

    if (bd_convert_converse_walk(resp, &r, err) != 0) {
        return -1;
    }
    if (usage) {
        *usage = r.usage;
    }
    if (out == nullptr) {
        return 0;
    }
    const char *stop = bd_convert_stop_anthropic(r.stop);
    out->clear();
    out->append("{\"id\":");
    bd_json_append_string(out, msg_id, strlen(msg_id));
    out->append(",\"type\":\"message\",\"role\":\"assistant\"");
    bd_cv_write_str(out, "model", client_model);
    out->append(",\"content\":[");
    size_t blocks = 0;
    for (const bd_bedrock_block_t &b : r.blocks) {
        size_t mark = out->size();
        out->append(blocks > 0 ? "," : "");
        if (bd_cv_block_write(&b, out)) {
            blocks++;
        } else {
            out->resize(mark);
        }
    }
    if (blocks == 0 && strcmp(stop, "end_turn") == 0) {
        out->append("{\"type\":\"text\",\"text\":\"\",\"citations\":null}");
    }
    out->push_back(']');
    bd_cv_write_str(out, "stop_reason", stop);
    if (r.stop == BD_STOP_STOP_SEQUENCE && r.stop_sequence) {
        bd_cv_write_str(out, "stop_sequence", r.stop_sequence);
    } else {
        out->append(",\"stop_sequence\":null");
    }
    out->append(",\"usage\":");
    bd_cv_usage_write(&r.usage, out);
    out->push_back('}');
    return 0;
}

/*
 * bd_convert_response.cc: a walked Converse response -> an Anthropic Message, written
 * as text. Pure, any thread. Blocks this build does not know are skipped; empty text
 * is dropped, but an end_turn answer keeps one text block so that SDK helpers
 * (finalText) work.
 */
#include <string.h>

#include "core/bd_json.h"
#include "core/bd_json_scan.h"
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

/* A block as jansson reads it (all but plain text), written by bd_cv_block_write. */
static bool
bd_cv_block_write_tree(const bd_json_member_t *e, std::string *out)
{
    json_t *c = json_loadb(e->value.p, e->value.n, 0, nullptr);
    bd_bedrock_block_t b;
    bd_convert_converse_block(c, &b);
    bool written = bd_cv_block_write(&b, out);
    json_decref(c);
    return written;
}

/* One content block of output.message.content: a plain text block's string is
 * copied as Bedrock wrote it (a valid JSON literal); any other kind goes through
 * a tree of that block alone. */
static bool
bd_cv_scan_block(const bd_json_member_t *e, std::string *out)
{
    bd_json_members_t it;
    bd_json_member_t m;
    bd_json_span_t text = {nullptr, 0};

    if (e->kind != '{') {
        return false;
    }
    bd_json_members_init(&it, e->value.p, e->value.n);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "text") && m.kind == '"') {
            text = m.value;
        }
    }
    if (text.p == nullptr) {
        return bd_cv_block_write_tree(e, out);
    }
    if (text.n == 2) {
        return false; /* "" */
    }
    out->append("{\"type\":\"text\",\"text\":");
    out->append(text.p, text.n);
    out->append(",\"citations\":null}");
    return true;
}

/* The usage object <v> (bd_convert_bedrock_usage_parse's rules). Only the counts
 * every answer has are read from the scan; cache details, when present, go through
 * the tree reader (a parse of a small object costs ten thousand instructions). */
static void
bd_cv_scan_usage(const bd_json_span_t *v, bd_convert_usage_t *usage)
{
    bd_json_members_t it;
    bd_json_member_t m;
    bd_convert_usage_t r = {};
    bool in = false, out = false;

    bd_json_members_init(&it, v->p, v->n);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "cacheDetails")) {
            json_t *j = json_loadb(v->p, v->n, 0, nullptr);
            bd_convert_bedrock_usage_parse(j, usage);
            json_decref(j);
            return;
        }
        if (bd_json_key_is(&m, "inputTokens")) {
            in = bd_json_member_int(&m, &r.input_tokens) == 0;
        } else if (bd_json_key_is(&m, "outputTokens")) {
            out = bd_json_member_int(&m, &r.output_tokens) == 0;
        } else if (bd_json_key_is(&m, "cacheReadInputTokens")) {
            bd_json_member_int(&m, &r.cache_read_tokens);
        } else if (bd_json_key_is(&m, "cacheWriteInputTokens")) {
            bd_json_member_int(&m, &r.cache_write_tokens);
        }
    }
    if (it.ok && in && out) {
        r.cache_write_5m_tokens = r.cache_write_tokens;
        *usage = r;
    }
}

/* What the answer's top level holds for the message. */
struct bd_cv_converse_scan_t {
    bd_json_span_t content; /* output.message.content */
    std::string stop;       /* stopReason */
    bool have_stop;
    bd_json_span_t stop_sequence; /* additionalModelResponseFields.stop_sequence literal */
    bd_json_span_t usage;
};

/* The member <key> of the object <v>, when it is one, into <m>. */
static bool
bd_cv_scan_member(const bd_json_span_t *v, const char *key, char kind, bd_json_member_t *m)
{
    bd_json_members_t it;
    bool found = false;
    bd_json_member_t x;

    bd_json_members_init(&it, v->p, v->n);
    while (bd_json_members_next(&it, &x)) {
        if (bd_json_key_is(&x, key) && x.kind == kind) {
            *m = x;
            found = true;
        }
    }
    return found;
}

static int
bd_cv_converse_scan(const char *body, size_t len, bd_cv_converse_scan_t *s,
                    bd_convert_error_t *err)
{
    bd_json_members_t it;
    bd_json_member_t m, x;

    *s = bd_cv_converse_scan_t();
    bd_json_members_init(&it, body, len);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "output")) {
            s->content = {nullptr, 0};
            if (m.kind == '{' && bd_cv_scan_member(&m.value, "message", '{', &x) &&
                bd_cv_scan_member(&x.value, "content", '[', &x)) {
                s->content = x.value;
            }
        } else if (bd_json_key_is(&m, "stopReason")) {
            s->have_stop = m.kind == '"';
            s->stop.clear();
            if (s->have_stop) {
                bd_cv_scan_string(&m.value, &s->stop);
            }
        } else if (bd_json_key_is(&m, "usage")) {
            s->usage = m.value;
        } else if (bd_json_key_is(&m, "additionalModelResponseFields")) {
            s->stop_sequence = {nullptr, 0};
            if (m.kind == '{' && bd_cv_scan_member(&m.value, "stop_sequence", '"', &x)) {
                s->stop_sequence = x.value;
            }
        }
    }
    if (s->content.p == nullptr) {
        return bd_cv_upstream(err, "no output.message.content");
    }
    if (!it.ok) {
        return bd_cv_upstream(err, "the answer is not JSON");
    }
    if (!s->have_stop) {
        return bd_cv_upstream(err, "no stopReason");
    }
    return 0;
}

/* Written as text, in the order Anthropic's own answers use, from a scan of
 * Bedrock's answer: a jansson parse, tree and dump were a third of a small
 * request's instructions. */
int
bd_convert_converse_answer(const char *body, size_t len, const char *msg_id,
                           const char *client_model, std::string *out,
                           bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_cv_converse_scan_t s;

    if (bd_cv_converse_scan(body, len, &s, err) != 0) {
        return -1;
    }
    bd_convert_usage_t u = bd_convert_usage_t();
    if (s.usage.p != nullptr) {
        bd_cv_scan_usage(&s.usage, &u);
    }
    if (usage) {
        *usage = u;
    }
    if (out == nullptr) {
        return 0;
    }
    int stop_kind = bd_convert_bedrock_stop_parse(s.stop.c_str());
    const char *stop = bd_convert_stop_anthropic(stop_kind);
    out->clear();
    out->reserve(len + 256);
    out->append("{\"id\":");
    bd_json_append_string(out, msg_id, strlen(msg_id));
    out->append(",\"type\":\"message\",\"role\":\"assistant\"");
    bd_cv_write_str(out, "model", client_model);
    out->append(",\"content\":[");
    size_t blocks = 0;
    bd_json_members_t it;
    bd_json_member_t e;
    bd_json_elements_init(&it, s.content.p, s.content.n);
    while (bd_json_elements_next(&it, &e)) {
        size_t mark = out->size();
        out->append(blocks > 0 ? "," : "");
        if (bd_cv_scan_block(&e, out)) {
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
    out->append(",\"stop_sequence\":");
    if (stop_kind == BD_STOP_STOP_SEQUENCE && s.stop_sequence.p != nullptr) {
        out->append(s.stop_sequence.p, s.stop_sequence.n);
    } else {
        out->append("null");
    }
    out->append(",\"usage\":");
    bd_cv_usage_write(&u, out);
    out->push_back('}');
    return 0;
}

/*
 * bd_ddb_text.cc: the cursor of bd_ddb_text.h.
 */
#include "modules/dynamodb/bd_ddb_text.h"

#include <charconv>

#include "core/bd_json.h"

/* Room is added at least this much at a time: a BatchWriteItem body grows to
 * about 20 KB, and the string keeps its capacity from one body to the next. */
static const size_t BD_DDB_TEXT_STEP = 4096;

void
bd_ddb_text_begin(bd_ddb_text_t *t, std::string *out)
{
    size_t at = out->size();
    t->out = out;
    out->resize(out->capacity() > at ? out->capacity() : at);
    t->p = &(*out)[0] + at;
    t->end = &(*out)[0] + out->size();
}

void
bd_ddb_text_end(bd_ddb_text_t *t)
{
    t->out->resize((size_t)(t->p - t->out->data()));
}

void
bd_ddb_text_grow(bd_ddb_text_t *t, size_t n)
{
    size_t at = (size_t)(t->p - t->out->data());
    size_t want = at + (n > BD_DDB_TEXT_STEP ? n : BD_DDB_TEXT_STEP);
    if (want < t->out->size() * 2) {
        want = t->out->size() * 2;
    }
    t->out->resize(want);
    t->p = &(*t->out)[0] + at;
    t->end = &(*t->out)[0] + t->out->size();
}

void
bd_ddb_text_escaped(bd_ddb_text_t *t, const char *s, size_t len)
{
    if (bd_json_plain_run(s, len) == len) {
        bd_ddb_text_put(t, s, len);
        return;
    }
    /* Quotes, control bytes, UTF-8 (checked and repaired there): rare in ids and
     * names, so the string leaves the cursor for bd_json's own escaping. */
    std::string *out = t->out;
    bd_ddb_text_end(t);
    bd_json_append_escaped(out, s, len);
    bd_ddb_text_begin(t, out);
}

void
bd_ddb_text_int(bd_ddb_text_t *t, int64_t v)
{
    bd_ddb_text_room(t, 24);
    t->p = std::to_chars(t->p, t->end, v).ptr;
}

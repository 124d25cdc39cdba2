/*
 * bd_ddb_text.h: DynamoDB JSON written through a cursor into room at the end of a
 * string. A usage item is some 600 bytes of constant names around short values;
 * written with std::string appends, each of its hundred pieces paid a call and a
 * capacity check, which together cost more per row than reading it from SQLite.
 * Here a piece is a bounds check and a memcpy of known length.
 *
 * The room is the string's own capacity, zero-filled once by resize(); end()
 * cuts the string back to what was written. Between begin() and end() the
 * string must not be touched but through the cursor.
 */
#ifndef BD_DDB_TEXT_H
#define BD_DDB_TEXT_H

#include <stdint.h>
#include <string.h>

#include <string>

struct bd_ddb_text_t {
    std::string *out;
    char *p;   /* the next byte */
    char *end; /* the end of the room */
};

/* Opens a cursor at the end of <out>. */
void bd_ddb_text_begin(bd_ddb_text_t *t, std::string *out);

/* Cuts <out> back to the text written. */
void bd_ddb_text_end(bd_ddb_text_t *t);

/* Makes room for <n> more bytes (moves the string's buffer). */
void bd_ddb_text_grow(bd_ddb_text_t *t, size_t n);

static inline void
bd_ddb_text_room(bd_ddb_text_t *t, size_t n)
{
    if ((size_t)(t->end - t->p) < n) {
        bd_ddb_text_grow(t, n);
    }
}

static inline void
bd_ddb_text_put(bd_ddb_text_t *t, const char *s, size_t n)
{
    bd_ddb_text_room(t, n);
    memcpy(t->p, s, n);
    t->p += n;
}

/* A string literal: its length is known at compile time, so the copy is a few moves. */
#define bd_ddb_text_lit(t, lit) bd_ddb_text_put((t), (lit), sizeof(lit) - 1)

/* <s> escaped for a JSON string (without the quotes), as bd_json_append_escaped
 * does: ASCII without quotes or backslashes is copied as it is, anything else
 * takes bd_json_append_escaped's path. */
void bd_ddb_text_escaped(bd_ddb_text_t *t, const char *s, size_t len);

/* <v> in decimal. */
void bd_ddb_text_int(bd_ddb_text_t *t, int64_t v);

#endif

/*
 * bd_json_scan.h: a JSON text checked and walked in place, without building a
 * tree. For answers that pass through nearly unchanged (an InvokeModel message
 * whose "model" is renamed), a jansson parse, deep copy and dump cost about a
 * fifth of a small request; a scan finds the members the gateway reads or edits,
 * and the rest of the bytes are sent as they came. The scan is a full validation
 * (RFC 8259 grammar, UTF-8, nesting up to BD_JSON_SCAN_DEPTH) with jansson's own
 * string rules (no \u0000, no unpaired surrogate), so what passes through is what
 * jansson would have read. Pure functions; any thread.
 */
#ifndef BD_JSON_SCAN_H
#define BD_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

static const int BD_JSON_SCAN_DEPTH = 2048; /* jansson's own limit */

struct bd_json_span_t {
    const char *p;
    size_t n;
};

/* One member of an object: the key as written between its quotes (escapes not
 * decoded) and the value's whole text; <kind> is the value's first byte ('{',
 * '[', '"', 't', 'f', 'n', or '0' for any number). */
struct bd_json_member_t {
    bd_json_span_t key;
    bd_json_span_t value;
    char kind;
};

/* A walk over the members of one object, or the elements of one array. */
struct bd_json_members_t {
    const char *p;
    const char *end;
    bool started;
    bool done;
    bool ok; /* after the last item: the container was well-formed */
};

/* Where the value at <p> (leading whitespace skipped) ends, or null when it is
 * not one well-formed value. */
const char *bd_json_scan_value(const char *p, const char *end);

/* Whether the whole of <p, n> is one well-formed value (whitespace around it allowed). */
bool bd_json_valid(const char *p, size_t n);

/* Starts a walk over the object that is the whole of <p, n> (whitespace around
 * it allowed): a value span of an outer walk, or a whole document. */
void bd_json_members_init(bd_json_members_t *it, const char *p, size_t n);

/* The next member into <m>: true, or false at the end of the object or at the
 * first malformed byte (it->ok tells which). */
bool bd_json_members_next(bd_json_members_t *it, bd_json_member_t *m);

/* The same over the elements of the array that is the whole of <p, n>: each comes
 * as a member with an empty key. */
void bd_json_elements_init(bd_json_members_t *it, const char *p, size_t n);
bool bd_json_elements_next(bd_json_members_t *it, bd_json_member_t *m);

/* Whether the member's key is <name>. A key written with escapes never is: the
 * writers this reads (Bedrock, the SDKs) do not escape plain ASCII names. */
bool bd_json_key_is(const bd_json_member_t *m, const char *name);

/* The value of an integer number member (no fraction, no exponent, in range):
 * 0, or -1 when it is something else. */
int bd_json_member_int(const bd_json_member_t *m, int64_t *v);

#endif

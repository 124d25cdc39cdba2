/*
 * bd_json_slices.h: large plain strings of a JSON text set aside before jansson
 * parses it. jansson reads and writes a string a byte at a time, so a 1 MiB
 * base64 image cost about 20 ms of CPU to go through a parse and a dump
 * unchanged. Here the base64 where the client APIs and Bedrock put media, when it
 * is at least BD_JSON_SLICE_MIN bytes all of the base64 alphabet (so its text is
 * its value: nothing to escape), is replaced in a copy of the JSON by a
 * fixed-width token; bd_json_slices_paste puts the original bytes back wherever a
 * token appears in a serialized output. Which strings are media is the caller's
 * choice (BD_JSON_SLICE_*): its converter must copy them whole. Only media: a long
 * model name or text still goes through jansson, so no error message or record
 * ever quotes a token. Tokens name slices of one request only, and carry a random
 * per-process nonce so that no ordinary text looks like one. Any thread.
 */
#ifndef BD_JSON_SLICES_H
#define BD_JSON_SLICES_H

#include <stddef.h>
#include <sys/uio.h>

#include <string>
#include <vector>

static const size_t BD_JSON_SLICE_MIN = 4096;

struct bd_json_slice_t {
    const char *at; /* in the original text, which must outlive the slices */
    size_t len;
};

struct bd_json_slices_t {
    std::string text;                 /* the JSON with tokens; empty when nothing was cut */
    std::vector<bd_json_slice_t> cut; /* token i stands for cut[i] */
};

/* Which strings are media, for bd_json_slices_cut (a bit set). */
enum {
    /* The value of a "data" or "bytes" member: base64 (Anthropic, Bedrock). */
    BD_JSON_SLICE_MEDIA = 1u << 0,
    /* The base64 after the first comma of a "data:...;base64," URL, the value of a
     * "url", "image_url" or "file_data" member (OpenAI); the URL's head stays. */
    BD_JSON_SLICE_DATA_URL = 1u << 1,
};

/* Cuts the large media strings of the <kinds> out of <json>. Returns how many were
 * cut; with 0, <out> is empty and <json> is to be parsed as it is. Malformed JSON
 * is copied as far as it goes: the parser then reports it. */
size_t bd_json_slices_cut(const char *json, size_t len, unsigned kinds, bd_json_slices_t *out);

/* Replaces every token of <s> in <text> by the bytes it stands for. */
void bd_json_slices_paste(const bd_json_slices_t *s, std::string *text);

/* The same text without a copy: <out> gets, in order, the runs of <text> between
 * tokens and the bytes each token stands for (<s> may be null: <text> whole). The
 * pieces point into <text> and the original JSON, which must outlive them. */
void bd_json_slices_pieces(const bd_json_slices_t *s, const char *text, size_t len,
                           std::vector<struct iovec> *out);

#endif

/*
 * bd_eventstream.h: the AWS event-stream binary framing
 * (application/vnd.amazon.eventstream): an incremental decoder fed arbitrary
 * byte splits, and an encoder (used by the emulator and the tests).
 * A decoder belongs to one transfer on one thread.
 */
#ifndef BD_EVENTSTREAM_H
#define BD_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string>
#include <vector>

#define BD_EVENTSTREAM_MAX_MESSAGE (24u * 1024 * 1024)

enum bd_es_header_type_e {
    BD_ES_BOOL_TRUE = 0,
    BD_ES_BOOL_FALSE = 1,
    BD_ES_BYTE = 2,
    BD_ES_SHORT = 3,
    BD_ES_INT = 4,
    BD_ES_LONG = 5,
    BD_ES_BYTES = 6,
    BD_ES_STRING = 7,
    BD_ES_TIMESTAMP = 8,
    BD_ES_UUID = 9,
};

struct bd_es_header_t {
    std::string name;
    int type;        /* bd_es_header_type_e */
    int64_t number;  /* bool (0/1), byte, short, int, long, timestamp (ms) */
    std::string str; /* bytes, string, uuid (16 raw bytes) */
};

/* One decoded message. Pointers into it stay valid only during the callback. */
struct bd_es_message_t {
    std::vector<bd_es_header_t> headers;
    const uint8_t *payload;
    size_t payload_len;
};

/* Looks up a string header by exact name; null when absent or not a string. */
const std::string *bd_es_message_header(const bd_es_message_t *m, const char *name);

enum bd_es_status_e {
    BD_ES_OK = 0,            /* all input consumed; may hold a partial message */
    BD_ES_STOPPED = 1,       /* the callback asked to stop */
    BD_ES_BAD_PRELUDE = -1,  /* prelude CRC mismatch */
    BD_ES_BAD_MESSAGE = -2,  /* message CRC mismatch */
    BD_ES_BAD_LENGTH = -3,   /* total length < 16, over the cap, or headers too long */
    BD_ES_BAD_HEADER = -4,   /* unknown header type or a header overruns its section */
    BD_ES_TRUNCATED = -5,    /* bd_es_decoder_finish with a partial message left */
};

/* Returns 0 to go on, non-zero to stop decoding (bd_es_decoder_feed returns BD_ES_STOPPED). */
typedef int (*bd_es_on_message_pt)(void *arg, const bd_es_message_t *m);

struct bd_es_decoder_t {
    std::string buf; /* bytes of the message being assembled */
    size_t max_message;
    bd_es_on_message_pt on_message;
    void *arg;
    int failed; /* the first error; once set, feed returns it again */
};

void bd_es_decoder_init(bd_es_decoder_t *d, bd_es_on_message_pt cb, void *arg);

/* Feeds <len> bytes; calls the callback once per complete message. After an error
 * the decoder stays failed (resync is impossible). */
int bd_es_decoder_feed(bd_es_decoder_t *d, const void *data, size_t len);

/* End of input: BD_ES_TRUNCATED if a partial message is left, else BD_ES_OK. */
int bd_es_decoder_finish(bd_es_decoder_t *d);

/* Human-readable phrase for a status. */
const char *bd_es_strerror(int status);

/* Encodes one message and appends it to <out>. */
void bd_es_encode(const std::vector<bd_es_header_t> &headers, const void *payload,
                  size_t payload_len, std::string *out);

/* Bedrock-style frames: an event (:event-type, :content-type application/json,
 * :message-type event) and an exception (:exception-type, :message-type exception). */
void bd_es_encode_event(const char *event_type, const std::string &json_payload, std::string *out);
void bd_es_encode_exception(const char *exception_type, const std::string &json_payload,
                            std::string *out);

/* CRC-32 (IEEE, zlib-compatible); <crc> is the running value, 0 to start. */
uint32_t bd_crc32(uint32_t crc, const void *data, size_t len);

#endif

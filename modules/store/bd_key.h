/*
 * bd_key.h: API key secrets and the record a key is known by. A secret is
 * "sk-bd-" + 43 base64url characters (256 random bits); only its SHA-256 and a
 * short display prefix are ever stored. Pure functions, any thread.
 */
#ifndef BD_KEY_H
#define BD_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#define BD_KEY_SECRET_PREFIX "sk-bd-"

enum {
    BD_KEY_SECRET_LEN = 49,  /* "sk-bd-" + 43 */
    BD_KEY_HASH_LEN = 32,    /* SHA-256 */
    BD_KEY_DISPLAY_LEN = 12, /* "sk-bd-" + the first 6 random characters */
};

/* One API key as the store holds it. Limits of 0 mean "no limit". */
struct bd_key_t {
    std::string id;       /* "key_" + 16 base32 characters; what logs and usage name */
    std::string hash;     /* BD_KEY_HASH_LEN raw bytes of SHA-256(secret) */
    std::string prefix;   /* the secret's first BD_KEY_DISPLAY_LEN characters */
    std::string name;
    std::string owner;
    bool active;
    int64_t created_ms;   /* epoch ms */
    int64_t expires_ms;   /* epoch ms; 0 = never */
    int64_t rpm;          /* requests per minute */
    int64_t tpm;          /* tokens (input + output) per minute */
    int64_t concurrency;  /* requests in flight */
    int64_t budget_tokens;     /* per calendar month (UTC), every token billed; 0 = none */
    int64_t budget_usd_micros; /* per calendar month (UTC), at the conf's prices; 0 = none */
    int64_t spent_tokens;      /* this month, fleet-wide, as last published by the sync */
    int64_t spent_usd_micros;
    std::vector<std::string> models; /* fnmatch patterns on the client model name; empty = any */
    std::string metadata; /* a JSON object, as text */
};

/* Makes a new secret from OpenSSL's CSPRNG into <secret> (BD_KEY_SECRET_LEN
 * characters). Returns 0, or -1 when the generator fails. */
int bd_key_generate_secret(std::string *secret);

/* Makes a new key id ("key_" + 16 lowercase base32 characters). Returns 0 or -1. */
int bd_key_generate_id(std::string *id);

/* Whether <s> (<len> bytes) has the shape of a secret: the prefix, then exactly
 * 43 base64url characters. */
bool bd_key_secret_valid(const char *s, size_t len);

/* SHA-256 of <s> (<len> bytes) into <out> (BD_KEY_HASH_LEN raw bytes). */
void bd_key_hash(const char *s, size_t len, std::string *out);

/* Lowercase hex of <raw>, and back (returns -1 on bad input). */
std::string bd_key_hex(const std::string &raw);
int bd_key_unhex(const std::string &hex, std::string *raw);

/* The model patterns as stored: "a,b,c"; and back (empty items dropped). */
std::string bd_key_models_join(const std::vector<std::string> &models);
std::vector<std::string> bd_key_models_split(const std::string &text);

/* Whether <model> matches one of <key>'s patterns (fnmatch); true when it has none. */
bool bd_key_model_allowed(const bd_key_t *key, const char *model);

/* Whether <key> may be used at <now_ms>: active and not expired. */
bool bd_key_usable(const bd_key_t *key, int64_t now_ms);

#endif

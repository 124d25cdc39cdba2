/*
 * bd_keyops.h: the key operations bedrockctl and the admin API share: checking
 * and applying a change to a key's editable fields, a new secret, the key as
 * JSON, and create / update / revoke / rotate on a backend (the store file or
 * the fleet's DynamoDB tables). A change is checked whole before anything is
 * written, so a bad field leaves the key as it was.
 */
#ifndef BD_KEYOPS_H
#define BD_KEYOPS_H

#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

#include "modules/store/ctl/bd_ctl.h"

typedef struct json_t json_t;

/* Field names and text values, in order (a later one wins): name, owner, rpm,
 * tpm, concurrency, models ("a,b"), expires (date or "never"), metadata (a JSON
 * object), active ("on"/"off"), budget_tokens, budget_usd ("12.50"). */
typedef std::vector<std::pair<std::string, std::string>> bd_keyops_fields_t;

enum bd_keyops_rc_e {
    BD_KEYOPS_OK = 0,
    BD_KEYOPS_BAD = 1,       /* a field is wrong: <field> names it, <err> says why */
    BD_KEYOPS_NOT_FOUND = 2, /* no such key id */
    BD_KEYOPS_FAILED = 3,    /* the backend failed: <err> */
};

/* The result of one operation. */
struct bd_keyops_result_t {
    bd_key_t before; /* update, revoke, rotate: the key as it was */
    bd_key_t after;  /* the key as written */
    std::string secret; /* create, rotate: shown once, never stored */
    std::string field;
    std::string err;
};

/* Applies <fields> to <k>. Returns BD_KEYOPS_OK, or BD_KEYOPS_BAD with <field>
 * and <err> (k may then be half changed: apply to a copy). */
int bd_keyops_apply(const bd_keyops_fields_t &fields, bd_key_t *k, std::string *field,
                    std::string *err);

/* "active", "revoked" or "expired" at <now_ms>. */
const char *bd_keyops_status(const bd_key_t *k, int64_t now_ms);

/* The key as bedrockctl and the API show it (no hash, no secret). New reference. */
json_t *bd_keyops_json(const bd_key_t *k, int64_t now_ms);

/* Creates a key from <fields> (name is required). */
int bd_keyops_create(const bd_ctl_backend_t *b, const bd_keyops_fields_t &fields, int64_t now_ms,
                     bd_keyops_result_t *res);

/* <verb> "update" (with <fields>), "revoke" or "rotate" on key <id>. */
int bd_keyops_change(const bd_ctl_backend_t *b, const std::string &verb, const std::string &id,
                     const bd_keyops_fields_t &fields, bd_keyops_result_t *res);

/* Epoch ms now. */
int64_t bd_keyops_now_ms(void);

#endif

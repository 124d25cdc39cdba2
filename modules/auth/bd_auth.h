/*
 * bd_auth.h: who is asking. The auth module's ACCESS handler accepts a key in
 * `x-api-key` or `Authorization: Bearer`: the master key from the conf, or a key
 * from the store's key table. It sets r->key_id ("master" for the master key).
 * Worker threads.
 */
#ifndef BD_AUTH_H
#define BD_AUTH_H

#include "core/bd_request.h"
#include "modules/store/bd_key.h"

/* The key id set for requests made with the master key. */
#define BD_AUTH_MASTER_ID "master"

/* The store key <r> authenticated with, or null (master key, auth off, public
 * route). Valid until <r> is finalized: the request holds the key table. */
const bd_key_t *bd_auth_key(const bd_request_t *r);

/* Checks that <r>'s key may use the client model name <model> (fnmatch patterns
 * of the key). Returns BD_OK, or answers 403 permission_error and returns BD_DONE
 * (<r> is finalized: the caller must not touch it). Called by content handlers
 * once the model is known. Worker thread. */
int bd_auth_check_model(bd_request_t *r, const char *model);

extern bd_module_t bd_auth_module;

#endif

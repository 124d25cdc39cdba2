/*
 * bd_ctl_remote.h: bedrockctl on a daemon's admin API (--url URL --token-file
 * FILE) instead of the store file: where there is no host to run it on (a
 * Fargate task), the same commands go over HTTP with an admin token, with the
 * API's checks, publication and audit trail.
 */
#ifndef BD_CTL_REMOTE_H
#define BD_CTL_REMOTE_H

#include <string>
#include <vector>

#include "modules/store/ctl/bd_keyops.h"

struct bd_ctl_remote_t {
    std::string url;   /* the admin listener, without a trailing '/' */
    std::string token; /* never printed */
};

/* The backend operations of bd_ctl.h on the API (same contracts). */
int bd_ctl_remote_keys_load(bd_ctl_remote_t *r, std::vector<bd_key_t> *out, std::string *err);
int bd_ctl_remote_key_get(bd_ctl_remote_t *r, const std::string &id, bd_key_t *out,
                          std::string *err);
int bd_ctl_remote_models_load(bd_ctl_remote_t *r, std::vector<bd_store_model_t> *out,
                              std::string *err);
int bd_ctl_remote_model_set(bd_ctl_remote_t *r, const bd_store_model_t *m, std::string *err);
int bd_ctl_remote_model_unset(bd_ctl_remote_t *r, const std::string &name, std::string *err);
int bd_ctl_remote_usage_report(bd_ctl_remote_t *r, int by, int64_t since_ms, int64_t until_ms,
                               std::vector<bd_usage_row_t> *out, std::string *err);
int bd_ctl_remote_audit(bd_ctl_remote_t *r, int64_t since_ms, int64_t until_ms, int64_t limit,
                        std::vector<bd_audit_row_t> *out, std::string *err);

/* create (id ""), update, revoke, rotate through the API; a bd_keyops_rc_e. */
int bd_ctl_remote_key_op(bd_ctl_remote_t *r, const std::string &verb, const std::string &id,
                         const bd_keyops_fields_t &fields, bd_keyops_result_t *res);

#endif

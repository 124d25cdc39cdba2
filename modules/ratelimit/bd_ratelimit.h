/*
 * bd_ratelimit.h: per-key and global limits. The ACCESS handler admits a request
 * against the key's requests-per-minute bucket and concurrency slots (and the
 * global ones); content handlers charge an estimate of tokens once the body is
 * parsed; the LOG handler settles the estimate with the real usage and frees the
 * slots. Worker threads.
 */
#ifndef BD_RATELIMIT_H
#define BD_RATELIMIT_H

#include <stdint.h>

#include <string>

#include "core/bd_request.h"

/* Charges <estimate> tokens (input estimate + max_tokens) to <r>'s key's tokens
 * per minute. Returns BD_OK (also when the key has no token limit), or answers
 * 429 rate_limit_error with retry-after and returns BD_DONE (<r> is finalized).
 * Call once, right after the model is resolved. Worker thread. */
int bd_ratelimit_admit_tokens(bd_request_t *r, int64_t estimate);

/* One key's limits as they stand, for operators (the admin API). Fields of a
 * dimension without a limit are -1; in_flight is counted for keys with a
 * concurrency limit only. */
struct bd_ratelimit_view_t {
    int64_t requests_remaining;
    int64_t tokens_remaining;
    int64_t in_flight;
};

/* Reads <key_id>'s buckets under its limits; any thread, after the module
 * started (otherwise every field is -1). */
void bd_ratelimit_view(bd_process_t *p, const std::string &key_id, int64_t rpm, int64_t tpm,
                       int64_t concurrency, bd_ratelimit_view_t *out);

extern bd_module_t bd_ratelimit_module;

#endif

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

#include "core/bd_request.h"

/* Charges <estimate> tokens (input estimate + max_tokens) to <r>'s key's tokens
 * per minute. Returns BD_OK (also when the key has no token limit), or answers
 * 429 rate_limit_error with retry-after and returns BD_DONE (<r> is finalized).
 * Call once, right after the model is resolved. Worker thread. */
int bd_ratelimit_admit_tokens(bd_request_t *r, int64_t estimate);

extern bd_module_t bd_ratelimit_module;

#endif

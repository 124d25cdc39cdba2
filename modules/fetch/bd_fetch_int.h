/*
 * bd_fetch_int.h: what the fetch module's files share: its conf (built on the main
 * thread, read-only afterwards) and the per-worker curl client (that worker's thread only).
 */
#ifndef BD_FETCH_INT_H
#define BD_FETCH_INT_H

#include <stdint.h>

#include "core/bd_curl.h"
#include "core/bd_snapshot.h"
#include "core/bd_worker.h"

struct bd_fetch_conf_t {
    uint64_t max_size;  /* url_fetch_max_size: bytes of one fetched body */
    int64_t timeout_ms; /* url_fetch_timeout: one source, redirects and DNS included */
    bool private_ok;    /* url_fetch_private: private and local peers allowed */
};

/* Per worker: a curl client of its own, so that fetches never share the Bedrock pool's
 * connections, TLS settings or limits. */
struct bd_fetch_worker_t {
    bd_curl_t *curl;
};

const bd_fetch_conf_t *bd_fetch_conf(const bd_snapshot_t *snap);
bd_fetch_worker_t *bd_fetch_worker(bd_worker_t *w);

#endif

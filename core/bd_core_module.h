/*
 * bd_core_module.h: the core's own directives: threads, listeners, TLS, limits,
 * timeouts, logs, pid file and shutdown. Its conf is read by the process, the
 * workers and the HTTP glue; like every conf it is immutable once built.
 */
#ifndef BD_CORE_MODULE_H
#define BD_CORE_MODULE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "core/bd_cidr.h"
#include "core/bd_module.h"
#include "core/bd_snapshot.h"

struct bd_listen_t {
    std::string text; /* as written, e.g. "127.0.0.1:8080"; the identity across reloads */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    bool ssl;
};

struct bd_core_conf_t {
    int64_t worker_threads; /* 0 = auto (one per core) */
    std::vector<bd_listen_t> listens;
    std::vector<std::string> listen_args; /* raw "listen" arguments, one entry per directive */
    std::string ssl_certificate;
    std::string ssl_certificate_key;
    std::string ssl_ciphers; /* OpenSSL cipher list for TLS 1.2 */
    SSL_CTX *ssl_ctx; /* owned; null without TLS listeners */
    std::string pid_path;
    std::string error_log;
    int error_log_level;
    int error_log_format; /* a bd_log_format_e */
    std::string access_log; /* empty = off */
    uint64_t client_max_body_size;   /* bytes */
    uint64_t client_max_header_size; /* bytes */
    int64_t client_header_timeout_ms;
    int64_t client_body_timeout_ms;
    int64_t send_timeout_ms;
    uint64_t client_body_min_rate;          /* bytes per second a body must arrive at; 0 = off */
    uint64_t worker_body_memory;            /* bytes of request bodies a worker holds at once */
    int64_t client_connections_per_address; /* per worker; 0 = no cap */
    int64_t keepalive_timeout_ms;
    int64_t worker_connections;
    int64_t shutdown_timeout_ms;
    int64_t shutdown_delay_ms;
    std::vector<bd_cidr_t> trusted_proxies; /* whose X-Forwarded-For names the client */
};

extern bd_module_t bd_core_module;

static inline bd_core_conf_t *
bd_core_conf(const bd_snapshot_t *snap)
{
    return (bd_core_conf_t *)bd_snapshot_conf(snap, &bd_core_module);
}

/* The effective worker count of <conf> (auto resolved). */
int bd_core_worker_count(const bd_core_conf_t *conf);

/* The inactivity allowed while a request is read: the smaller of client_header_timeout
 * and client_body_timeout (evhttp reads a head and its body under one timeout). */
int64_t bd_core_read_timeout_ms(const bd_core_conf_t *conf);

#endif

/*
 * bd_core_module.cc: directives of the core, their defaults and validation, and
 * the TLS context for "listen ... ssl". Main thread (conf load).
 */
#include "core/bd_core_module.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/bd_log.h"
#include "core/bd_realip.h"

/* Forward secret (ECDHE, DHE) AEAD suites only, strongest key exchange first. */
#define BD_CORE_DEFAULT_CIPHERS                                                                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"       \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

#define BD_UNSET_INT (-1)
#define BD_UNSET_SIZE ((uint64_t)-1)

static const char *bd_core_set_workers(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                       const bd_directive_t *d, void *conf);
static const char *bd_core_set_listen(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                      const bd_directive_t *d, void *conf);
static const char *bd_core_set_error_log(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                         const bd_directive_t *d, void *conf);
static const char *bd_core_set_access_log(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                          const bd_directive_t *d, void *conf);

static const bd_conf_enum_t bd_core_log_formats[] = {
    {"text", BD_LOG_FORMAT_TEXT}, {"json", BD_LOG_FORMAT_JSON}, {nullptr, 0}};

static const bd_conf_bounds_t bd_core_connections_bounds = {16, 1000000};
static const bd_conf_bounds_t bd_core_per_address_bounds = {0, 1000000};

#define BD_CORE_OFF(field) offsetof(bd_core_conf_t, field)

static const bd_directive_t bd_core_directives[] = {
    {"worker_threads", "main", BD_ARGS_1 | BD_ARGS_RESTART, bd_core_set_workers, BD_CORE_OFF(worker_threads), nullptr},
    {"listen", "main", BD_ARGS_1 | BD_ARGS_2 | BD_ARGS_MULTI, bd_core_set_listen, 0, nullptr},
    {"ssl_certificate", "main", BD_ARGS_1, bd_conf_set_str, BD_CORE_OFF(ssl_certificate), nullptr},
    {"ssl_certificate_key", "main", BD_ARGS_1, bd_conf_set_str, BD_CORE_OFF(ssl_certificate_key),
     nullptr},
    {"ssl_ciphers", "main", BD_ARGS_1, bd_conf_set_str, BD_CORE_OFF(ssl_ciphers), nullptr},
    {"pid", "main", BD_ARGS_1, bd_conf_set_str, BD_CORE_OFF(pid_path), nullptr},
    {"error_log", "main", BD_ARGS_1 | BD_ARGS_2, bd_core_set_error_log, 0, nullptr},
    {"error_log_format", "main", BD_ARGS_1, bd_conf_set_enum, BD_CORE_OFF(error_log_format),
     bd_core_log_formats},
    {"access_log", "main", BD_ARGS_1, bd_core_set_access_log, 0, nullptr},
    {"client_max_body_size", "main", BD_ARGS_1, bd_conf_set_size, BD_CORE_OFF(client_max_body_size),
     nullptr},
    {"client_max_header_size", "main", BD_ARGS_1, bd_conf_set_size,
     BD_CORE_OFF(client_max_header_size), nullptr},
    {"client_header_timeout", "main", BD_ARGS_1, bd_conf_set_duration,
     BD_CORE_OFF(client_header_timeout_ms), nullptr},
    {"client_body_timeout", "main", BD_ARGS_1, bd_conf_set_duration,
     BD_CORE_OFF(client_body_timeout_ms), nullptr},
    {"send_timeout", "main", BD_ARGS_1, bd_conf_set_duration, BD_CORE_OFF(send_timeout_ms), nullptr},
    {"client_body_min_rate", "main", BD_ARGS_1, bd_conf_set_size,
     BD_CORE_OFF(client_body_min_rate), nullptr},
    {"worker_body_memory", "main", BD_ARGS_1, bd_conf_set_size, BD_CORE_OFF(worker_body_memory),
     nullptr},
    {"client_connections_per_address", "main", BD_ARGS_1, bd_conf_set_int,
     BD_CORE_OFF(client_connections_per_address), &bd_core_per_address_bounds},
    {"keepalive_timeout", "main", BD_ARGS_1, bd_conf_set_duration,
     BD_CORE_OFF(keepalive_timeout_ms), nullptr},
    {"worker_connections", "main", BD_ARGS_1, bd_conf_set_int, BD_CORE_OFF(worker_connections),
     &bd_core_connections_bounds},
    {"shutdown_timeout", "main", BD_ARGS_1, bd_conf_set_duration, BD_CORE_OFF(shutdown_timeout_ms),
     nullptr},
    {"shutdown_delay", "main", BD_ARGS_1, bd_conf_set_duration, BD_CORE_OFF(shutdown_delay_ms),
     nullptr},
    {"trusted_proxies", "main", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_realip_set_trusted,
     BD_CORE_OFF(trusted_proxies), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_core_create_conf(void)
{
    bd_core_conf_t *c = new bd_core_conf_t();
    c->worker_threads = BD_UNSET_INT;
    c->ssl_ctx = nullptr;
    c->error_log_level = BD_UNSET_INT;
    c->error_log_format = BD_UNSET_INT;
    c->client_max_body_size = BD_UNSET_SIZE;
    c->client_max_header_size = BD_UNSET_SIZE;
    c->client_header_timeout_ms = BD_UNSET_INT;
    c->client_body_timeout_ms = BD_UNSET_INT;
    c->send_timeout_ms = BD_UNSET_INT;
    c->client_body_min_rate = BD_UNSET_SIZE;
    c->worker_body_memory = BD_UNSET_SIZE;
    c->client_connections_per_address = BD_UNSET_INT;
    c->keepalive_timeout_ms = BD_UNSET_INT;
    c->worker_connections = BD_UNSET_INT;
    c->shutdown_timeout_ms = BD_UNSET_INT;
    c->shutdown_delay_ms = BD_UNSET_INT;
    return c;
}

static void
bd_core_destroy_conf(void *conf)
{
    bd_core_conf_t *c = (bd_core_conf_t *)conf;
    if (c->ssl_ctx != nullptr) {
        SSL_CTX_free(c->ssl_ctx);
    }
    delete c;
}

static const char *
bd_core_set_workers(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                    void *conf)
{
    bd_core_conf_t *c = (bd_core_conf_t *)conf;
    const std::string &v = node->args[1];
    if (v == "auto") {
        c->worker_threads = 0;
        return nullptr;
    }
    char *end = nullptr;
    long n = strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1 || n > 256) {
        cf->errbuf = "invalid value \"" + v + "\" in \"" + d->name +
                     "\" directive, it must be \"auto\" or a number from 1 to 256";
        return cf->errbuf.c_str();
    }
    c->worker_threads = n;
    return nullptr;
}

/* Splits "host:port", "[v6]:port", "*:port" or "port" and resolves it (numeric
 * addresses and names; this runs at load time on the main thread). */
static const char *
bd_core_parse_listen_addr(bd_conf_ctx_t *cf, const std::string &text, bd_listen_t *ls)
{
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            goto invalid;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else if (text.find(':') != std::string::npos) {
        size_t colon = text.rfind(':');
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    } else {
        port = text;
    }
    if (host.empty() || host == "*") {
        host = "0.0.0.0";
    }
    {
        char *end = nullptr;
        long p = strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
            goto invalid;
        }
        struct addrinfo hints, *res = nullptr;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
        if (rc != 0 || res == nullptr) {
            cf->errbuf = "host not found in \"" + text + "\" of the \"listen\" directive (" +
                         gai_strerror(rc) + ")";
            return cf->errbuf.c_str();
        }
        memcpy(&ls->addr, res->ai_addr, res->ai_addrlen);
        ls->addr_len = res->ai_addrlen;
        freeaddrinfo(res);
        return nullptr;
    }
invalid:
    cf->errbuf = "invalid address \"" + text + "\" in \"listen\" directive";
    return cf->errbuf.c_str();
}

static const char *
bd_core_set_listen(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                   void *conf)
{
    bd_core_conf_t *c = (bd_core_conf_t *)conf;
    bd_listen_t ls;
    ls.ssl = false;
    if (node->args.size() == 3) {
        if (node->args[2] != "ssl") {
            cf->errbuf = "invalid parameter \"" + node->args[2] + "\" in \"listen\" directive";
            return cf->errbuf.c_str();
        }
        ls.ssl = true;
    }
    const char *rv = bd_core_parse_listen_addr(cf, node->args[1], &ls);
    if (rv != nullptr) {
        return rv;
    }
    ls.text = node->args[1] + (ls.ssl ? " ssl" : "");
    for (const bd_listen_t &other : c->listens) {
        if (other.text == ls.text) {
            cf->errbuf = "duplicate listen " + node->args[1];
            return cf->errbuf.c_str();
        }
    }
    c->listens.push_back(ls);
    return nullptr;
}

static const char *
bd_core_set_error_log(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                      void *conf)
{
    bd_core_conf_t *c = (bd_core_conf_t *)conf;
    c->error_log = node->args[1];
    c->error_log_level = BD_LOG_NOTICE;
    if (node->args.size() == 3) {
        int level = bd_log_level_parse(node->args[2].c_str());
        if (level < 0) {
            cf->errbuf = "invalid log level \"" + node->args[2] +
                         "\" in \"error_log\" directive, it must be one of: emerg, alert, crit, "
                         "error, warn, notice, info, debug";
            return cf->errbuf.c_str();
        }
        c->error_log_level = level;
    }
    return nullptr;
}

static const char *
bd_core_set_access_log(bd_conf_ctx_t *, const bd_conf_node_t *node, const bd_directive_t *,
                       void *conf)
{
    bd_core_conf_t *c = (bd_core_conf_t *)conf;
    c->access_log = node->args[1] == "off" ? "" : node->args[1];
    return nullptr;
}

static const char *
bd_core_init_tls(bd_core_conf_t *c, std::string *msg)
{
    if (c->ssl_certificate.empty() || c->ssl_certificate_key.empty()) {
        return "no \"ssl_certificate\" or \"ssl_certificate_key\" is defined for \"listen ... ssl\"";
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) {
        return "SSL_CTX_new() failed";
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.3 suites are all forward secret; this list governs TLS 1.2. */
    if (SSL_CTX_set_cipher_list(ctx, c->ssl_ciphers.c_str()) != 1) {
        *msg = "\"ssl_ciphers\" \"" + c->ssl_ciphers + "\" selects no cipher";
    } else if (SSL_CTX_use_certificate_chain_file(ctx, c->ssl_certificate.c_str()) != 1) {
        *msg = "cannot load certificate \"" + c->ssl_certificate + "\"";
    } else if (SSL_CTX_use_PrivateKey_file(ctx, c->ssl_certificate_key.c_str(), SSL_FILETYPE_PEM) !=
               1) {
        *msg = "cannot load certificate key \"" + c->ssl_certificate_key + "\"";
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        *msg = "certificate key does not match \"" + c->ssl_certificate + "\"";
    } else {
        c->ssl_ctx = ctx;
        return nullptr;
    }
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return msg->c_str();
}

static const char *
bd_core_init_conf(bd_snapshot_t *, void *conf)
{
    static thread_local std::string msg;
    bd_core_conf_t *c = (bd_core_conf_t *)conf;

    if (c->worker_threads == BD_UNSET_INT) {
        c->worker_threads = 0;
    }
    if (c->listens.empty()) {
        bd_conf_ctx_t cf;
        bd_listen_t ls;
        ls.ssl = false;
        ls.text = "127.0.0.1:8080";
        bd_core_parse_listen_addr(&cf, ls.text, &ls);
        c->listens.push_back(ls);
    }
    if (c->error_log.empty()) {
        c->error_log = "stderr";
        c->error_log_level = BD_LOG_NOTICE;
    }
#define BD_DEFAULT(field, value)                                                                   \
    if (c->field == (decltype(c->field))-1) {                                                      \
        c->field = (value);                                                                        \
    }
    BD_DEFAULT(error_log_format, BD_LOG_FORMAT_TEXT);
    BD_DEFAULT(client_max_body_size, 32u * 1024 * 1024);
    BD_DEFAULT(client_max_header_size, 64u * 1024);
    BD_DEFAULT(client_header_timeout_ms, 60000);
    BD_DEFAULT(client_body_timeout_ms, 60000);
    BD_DEFAULT(send_timeout_ms, 60000);
    BD_DEFAULT(client_body_min_rate, 1024);
    BD_DEFAULT(worker_body_memory, 256u * 1024 * 1024);
    BD_DEFAULT(client_connections_per_address, 0);
    if (c->ssl_ciphers.empty()) {
        c->ssl_ciphers = BD_CORE_DEFAULT_CIPHERS;
    }
    BD_DEFAULT(keepalive_timeout_ms, 75000);
    BD_DEFAULT(worker_connections, 8192);
    BD_DEFAULT(shutdown_timeout_ms, 30000);
    BD_DEFAULT(shutdown_delay_ms, 0);
#undef BD_DEFAULT

    /* OpenSSL's own message hides why a file failed; say it, whether or not
     * a listener uses the files yet. */
    const struct {
        const std::string *path;
        const char *what;
    } files[] = {{&c->ssl_certificate, "certificate"}, {&c->ssl_certificate_key, "certificate key"}};
    for (const auto &f : files) {
        if (!f.path->empty() && access(f.path->c_str(), R_OK) != 0) {
            msg = std::string("cannot load ") + f.what + " \"" + *f.path + "\" (" +
                  strerror(errno) + ")";
            return msg.c_str();
        }
    }
    for (const bd_listen_t &ls : c->listens) {
        if (ls.ssl) {
            return bd_core_init_tls(c, &msg);
        }
    }
    return nullptr;
}

int
bd_core_worker_count(const bd_core_conf_t *conf)
{
    if (conf->worker_threads > 0) {
        return (int)conf->worker_threads;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int64_t
bd_core_read_timeout_ms(const bd_core_conf_t *conf)
{
    return conf->client_header_timeout_ms < conf->client_body_timeout_ms
               ? conf->client_header_timeout_ms
               : conf->client_body_timeout_ms;
}

bd_module_t bd_core_module = {
    .name = "core",
    .index = 0,
    .directives = bd_core_directives,
    .create_conf = bd_core_create_conf,
    .init_conf = bd_core_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_core_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};

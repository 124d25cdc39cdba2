/*
 * bd_process.cc: the main thread. It owns the listening sockets (it creates and
 * binds them so that errors surface at start or reload, then hands one
 * SO_REUSEPORT socket per address to each worker), turns signals into reload,
 * drain, stop and log reopening, and speaks systemd's notify protocol.
 */
#include "core/bd_process.h"

#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>

#include "core/bd_core_module.h"
#include "core/bd_log.h"
#include "core/bd_restart.h"
#include "core/bd_thread.h"

static const int BD_LISTEN_BACKLOG = 4096;

/* Guards p->snap against readers off the main thread (bd_process_snapshot). */
static pthread_mutex_t bd_process_snap_lock = PTHREAD_MUTEX_INITIALIZER;

bd_snapshot_t *
bd_process_snapshot(bd_process_t *p)
{
    pthread_mutex_lock(&bd_process_snap_lock);
    bd_snapshot_t *snap = p->snap;
    bd_snapshot_ref(snap);
    pthread_mutex_unlock(&bd_process_snap_lock);
    return snap;
}

void
bd_process_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') {
        return;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path)) {
        return;
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') {
        sa.sun_path[0] = '\0'; /* abstract namespace */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) {
        bd_log_error(BD_LOG_WARN, nullptr, "sd_notify(\"%s\") failed (%s)", state, strerror(errno));
    }
    close(fd);
}

static std::string
bd_process_addr_text(const struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        port = ntohs(s6->sin6_port);
        return std::string("[") + host + "]:" + std::to_string(port);
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
    port = ntohs(s4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
}

static int
bd_process_open_socket(const struct sockaddr_storage *addr, socklen_t len, std::string *err)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = std::string("socket() failed (") + strerror(errno) + ")";
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    if (addr->ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    if (bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, BD_LISTEN_BACKLOG) != 0) {
        *err = "bind() to " + bd_process_addr_text(addr) + " failed (" + strerror(errno) + ")";
        close(fd);
        return -1;
    }
    return fd;
}

static int
bd_process_port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                           : ((const struct sockaddr_in *)ss)->sin_port);
}

/* Whether another process holds <addr>: SO_REUSEPORT would let a second bedrockd
 * (same user) share a port and silently take part of its traffic, so a plain
 * socket, which no listener lets in, tries the address first. Port 0 is never
 * taken. 0 when free, -1 with <err> naming the address. */
static int
bd_process_probe_free(const struct sockaddr_storage *addr, socklen_t len, std::string *err)
{
    if (bd_process_port_of(addr) == 0) {
        return 0;
    }
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0; /* the real bind reports it */
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (addr->ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    int rc = bind(fd, (const struct sockaddr *)addr, len);
    int e = errno;
    close(fd);
    if (rc != 0 && e == EADDRINUSE) {
        *err = "bind() to " + bd_process_addr_text(addr) +
               " failed (address already in use by another process)";
        return -1;
    }
    return 0;
}

/* Opens <n> SO_REUSEPORT sockets for <ls>. Port 0 takes the kernel's ephemeral
 * port for the first socket and binds the others to the same one, stored in
 * <port>. <probe>: first make sure no other process listens there. */
static int
bd_process_open_listen(const bd_listen_t *ls, int n, bool probe, std::vector<int> *fds,
                       int *port, std::string *err)
{
    struct sockaddr_storage addr = ls->addr;
    if (probe && bd_process_probe_free(&addr, ls->addr_len, err) != 0) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int fd = bd_process_open_socket(&addr, ls->addr_len, err);
        if (fd < 0) {
            for (int other : *fds) {
                close(other);
            }
            fds->clear();
            return -1;
        }
        if (i == 0) {
            socklen_t alen = sizeof(addr);
            getsockname(fd, (struct sockaddr *)&addr, &alen);
            *port = bd_process_port_of(&addr);
            bd_log_error(BD_LOG_NOTICE, nullptr, "listening on %s%s",
                         bd_process_addr_text(&addr).c_str(), ls->ssl ? " ssl" : "");
        }
        fds->push_back(fd);
    }
    return 0;
}

/* Whether one of the running listeners already uses the port of <ls> (a reload
 * moving a port from one address to another meets its own socket, not another
 * process's). */
static bool
bd_process_port_ours(const bd_process_t *p, const bd_listen_t *ls)
{
    int port = bd_process_port_of(&ls->addr);
    for (int have : p->listen_ports) {
        if (have == port) {
            return true;
        }
    }
    return false;
}

/* Hands <snap> to every worker with the listeners it should have: sockets for new
 * addresses, "keep" for addresses it has. Returns -1 (nothing sent) when a new
 * address cannot be bound. */
static int
bd_process_publish(bd_process_t *p, bd_snapshot_t *snap, std::string *err)
{
    const bd_core_conf_t *ccf = bd_core_conf(snap);
    int n = (int)p->workers.size();
    std::vector<std::vector<bd_worker_listener_t>> sets((size_t)n);
    std::vector<std::string> keys;
    std::vector<int> opened;
    std::vector<int> ports;
    for (const bd_listen_t &ls : ccf->listens) {
        keys.push_back(ls.text);
        std::vector<int> fds;
        int port = 0;
        bool keep = false;
        for (size_t k = 0; k < p->listen_keys.size(); k++) {
            if (p->listen_keys[k] == ls.text) {
                keep = true;
                port = p->listen_ports[k];
            }
        }
        if (!keep && bd_process_open_listen(&ls, n, !bd_process_port_ours(p, &ls), &fds, &port,
                                            err) != 0) {
            for (int fd : opened) {
                close(fd);
            }
            return -1;
        }
        opened.insert(opened.end(), fds.begin(), fds.end());
        ports.push_back(port);
        for (int i = 0; i < n; i++) {
            sets[(size_t)i].push_back({ls.text, keep ? -1 : fds[(size_t)i], ls.ssl, nullptr});
        }
    }
    for (int i = 0; i < n; i++) {
        bd_msg_t msg;
        msg.type = BD_MSG_ADOPT;
        msg.snap = snap;
        bd_snapshot_ref(snap);
        msg.listeners = sets[(size_t)i];
        msg.fn = nullptr;
        msg.arg = nullptr;
        bd_worker_post(p->workers[(size_t)i], &msg);
    }
    p->listen_keys = keys;
    p->listen_ports = ports;
    return 0;
}

static void
bd_process_post_all(bd_process_t *p, int type)
{
    for (bd_worker_t *w : p->workers) {
        bd_msg_t msg;
        msg.type = type;
        msg.snap = nullptr;
        msg.fn = nullptr;
        msg.arg = nullptr;
        bd_worker_post(w, &msg);
    }
}

static void
bd_process_reload(bd_process_t *p)
{
    /* MONOTONIC_USEC lets systemd's Type=notify-reload match this reload. */
    char state[64];
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)bd_now_us());
    bd_process_notify(state);
    bd_log_error(BD_LOG_NOTICE, nullptr, "reloading configuration from %s", p->conf_path.c_str());
    std::string err;
    bd_snapshot_t *snap = bd_snapshot_load(p->conf_path.c_str(), nullptr, &err);
    if (snap == nullptr) {
        bd_log_error(BD_LOG_ERR, nullptr, "reload failed, keeping the running configuration: %s",
                     err.c_str());
        bd_process_notify("READY=1");
        return;
    }
    const bd_core_conf_t *ccf = bd_core_conf(snap);
    if (bd_log_configure(ccf->error_log.c_str(), ccf->error_log_level,
                         ccf->error_log_format == BD_LOG_FORMAT_JSON, ccf->access_log.c_str(),
                         &err) != 0 ||
        bd_process_publish(p, snap, &err) != 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "reload failed, keeping the running configuration: %s",
                     err.c_str());
        bd_snapshot_unref(snap);
        bd_process_notify("READY=1");
        return;
    }
    pthread_mutex_lock(&bd_process_snap_lock);
    bd_snapshot_t *old = p->snap;
    p->snap = snap;
    pthread_mutex_unlock(&bd_process_snap_lock);
    bd_snapshot_unref(old);
    bd_restart_check(snap);
    bd_log_error(BD_LOG_NOTICE, nullptr, "configuration reloaded (generation %lu)",
                 snap->generation);
    bd_process_notify("READY=1");
}

static int
bd_process_in_flight(bd_process_t *p)
{
    int n = 0;
    for (bd_worker_t *w : p->workers) {
        /* in the order a request moves through them (bd_worker_t); sequentially
         * consistent, for the handshake with the edge over w->leaving */
        n += w->reading.load(std::memory_order_seq_cst);
        n += w->active.load(std::memory_order_seq_cst);
        n += w->flushing.load(std::memory_order_seq_cst);
    }
    return n;
}

/* Nothing is in flight: tells the workers that requests begun from now on are to be
 * refused, then counts again. A request whose head began in between was seen either
 * here (the drain goes on serving it) or by its worker (refused). */
static bool
bd_process_may_exit(bd_process_t *p)
{
    for (bd_worker_t *w : p->workers) {
        w->leaving.store(true, std::memory_order_seq_cst);
    }
    return bd_process_in_flight(p) == 0;
}

static void
bd_process_on_drain_tick(evutil_socket_t, short, void *arg) noexcept
{
    bd_process_t *p = (bd_process_t *)arg;
    int64_t now = bd_now_us();
    if (!p->listeners_closed && now >= p->listen_close_us) {
        bd_process_post_all(p, BD_MSG_DRAIN);
        p->listeners_closed = true;
    }
    /* A worker that has not handled DRAIN yet may still accept a request, so the
     * count of requests in flight means nothing until every worker has. */
    bool all_closed = p->listeners_closed;
    for (bd_worker_t *w : p->workers) {
        all_closed = all_closed && w->listeners_closed.load(std::memory_order_acquire);
    }
    int n = bd_process_in_flight(p);
    if (all_closed && n == 0 && bd_process_may_exit(p)) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "drained, exiting");
        event_base_loopbreak(p->base);
    } else if (now >= p->drain_deadline_us) {
        bd_log_error(BD_LOG_WARN, nullptr, "shutdown_timeout reached, closing %d requests", n);
        event_base_loopbreak(p->base);
    }
}

static void
bd_process_drain(bd_process_t *p)
{
    if (p->draining.exchange(true)) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "second stop signal, exiting now");
        event_base_loopbreak(p->base);
        return;
    }
    const bd_core_conf_t *ccf = bd_core_conf(p->snap);
    bd_process_notify("STOPPING=1");
    int64_t now = bd_now_us();
    p->listen_close_us = now + ccf->shutdown_delay_ms * 1000;
    p->drain_deadline_us = p->listen_close_us + ccf->shutdown_timeout_ms * 1000;
    bd_log_error(BD_LOG_NOTICE, nullptr, "draining: %d requests in flight",
                 bd_process_in_flight(p));
    struct timeval tv = {0, 20 * 1000};
    p->drain_timer = event_new(p->base, -1, EV_PERSIST, bd_process_on_drain_tick, p);
    event_add(p->drain_timer, &tv);
    bd_process_on_drain_tick(-1, 0, p);
}

static void
bd_process_on_signal(bd_process_t *p, int sig)
{
    switch (sig) {
    case SIGHUP:
        if (!p->draining.load()) {
            bd_process_reload(p);
        }
        break;
    case SIGUSR1:
        bd_log_error(BD_LOG_NOTICE, nullptr, "reopening log files");
        bd_log_reopen();
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        bd_process_drain(p);
        break;
    }
}

/* The signals waiting in the signalfd, in the order they came. */
static void
bd_process_on_signalfd(evutil_socket_t fd, short, void *arg) noexcept
{
    bd_process_t *p = (bd_process_t *)arg;
    struct signalfd_siginfo si[8];
    ssize_t n;
    while ((n = read(fd, si, sizeof(si))) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
            bd_process_on_signal(p, (int)si[i].ssi_signo);
        }
    }
}

/* The process signals are blocked in every thread (bd_thread_create) and in this
 * one from the start, and read from a signalfd by the main loop: no asynchronous
 * handler runs at all. With libevent's handlers, a signal ran its handler in
 * whatever state the thread was in, and under ThreadSanitizer a SIGHUP sent right
 * after start was lost (1 in about 80 starts on a busy machine). A signal sent
 * during start-up now waits for the loop instead of killing the process. */
static int
bd_process_take_signals(void)
{
    sigset_t set;
    bd_process_signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
bd_process_on_watchdog(evutil_socket_t, short, void *) noexcept
{
    bd_process_notify("WATCHDOG=1");
}

static void
bd_process_start_watchdog(bd_process_t *p)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (usec == nullptr || (pid != nullptr && atol(pid) != (long)getpid())) {
        return;
    }
    long long us = atoll(usec);
    if (us <= 0) {
        return;
    }
    us /= 2;
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
    p->watchdog_timer = event_new(p->base, -1, EV_PERSIST, bd_process_on_watchdog, p);
    event_add(p->watchdog_timer, &tv);
}

int
bd_process_ready(bd_process_t *p, char *reason, size_t len)
{
    if (p->draining.load(std::memory_order_relaxed)) {
        snprintf(reason, len, "draining");
        return 0;
    }
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->ready != nullptr && bd_modules[i]->ready(p, reason, len) == 0) {
            return 0;
        }
    }
    snprintf(reason, len, "ready");
    return 1;
}

static int
bd_process_write_pid(const std::string &path)
{
    if (path.empty()) {
        return 0;
    }
    FILE *f = fopen(path.c_str(), "we");
    if (f == nullptr) {
        bd_log_error(BD_LOG_EMERG, nullptr, "open() \"%s\" failed (%s)", path.c_str(),
                     strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    return 0;
}

static int
bd_process_start(bd_process_t *p)
{
    const bd_core_conf_t *ccf = bd_core_conf(p->snap);
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->init_process != nullptr && bd_modules[i]->init_process(p) != BD_OK) {
            bd_log_error(BD_LOG_EMERG, nullptr, "module %s failed to start", bd_modules[i]->name);
            return -1;
        }
    }
    int n = bd_core_worker_count(ccf);
    for (int i = 0; i < n; i++) {
        bd_snapshot_ref(p->snap);
        p->workers.push_back(bd_worker_create(p, i, p->snap));
    }
    std::string err;
    if (bd_process_publish(p, p->snap, &err) != 0) {
        bd_log_error(BD_LOG_EMERG, nullptr, "%s", err.c_str());
        return -1;
    }
    if (bd_process_write_pid(ccf->pid_path) != 0) {
        return -1;
    }
    for (bd_worker_t *w : p->workers) {
        bd_worker_start(w);
    }
    return 0;
}

static void
bd_process_stop_workers(bd_process_t *p)
{
    bd_process_post_all(p, BD_MSG_STOP);
    for (bd_worker_t *w : p->workers) {
        bd_worker_join_destroy(w);
    }
    p->workers.clear();
}

int
bd_process_run(const char *conf_path, bd_snapshot_t *snap)
{
    bd_process_t *p = new bd_process_t();
    p->conf_path = conf_path;
    p->snap = snap;
    bd_restart_remember(snap);
    p->draining.store(false);
    p->listeners_closed = false;
    p->drain_timer = nullptr;
    p->watchdog_timer = nullptr;
    p->exit_code = 0;
    p->signal_event = nullptr;
    memset(p->module_ctx, 0, sizeof(p->module_ctx));
    p->signal_fd = bd_process_take_signals();
    if (p->signal_fd < 0) {
        BD_FATAL("signalfd() failed: %s", strerror(errno));
    }
    p->base = event_base_new();
    if (p->base == nullptr) {
        BD_FATAL("event_base_new() failed");
    }
    signal(SIGPIPE, SIG_IGN);

    int rc = bd_process_start(p);
    if (rc == 0) {
        p->signal_event = event_new(p->base, p->signal_fd, EV_READ | EV_PERSIST,
                                    bd_process_on_signalfd, p);
        event_add(p->signal_event, nullptr);
        bd_process_start_watchdog(p);
        bd_log_error(BD_LOG_NOTICE, nullptr, "bedrockd %s started, %zu workers", BD_VERSION,
                     p->workers.size());
        bd_process_notify("READY=1");
        event_base_dispatch(p->base);
    }

    bd_process_stop_workers(p);
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->exit_process != nullptr) {
            bd_modules[i]->exit_process(p);
        }
    }
    const bd_core_conf_t *ccf = bd_core_conf(p->snap);
    if (rc == 0 && !ccf->pid_path.empty()) {
        unlink(ccf->pid_path.c_str());
    }
    if (p->signal_event != nullptr) {
        event_free(p->signal_event);
    }
    close(p->signal_fd);
    if (p->drain_timer != nullptr) {
        event_free(p->drain_timer);
    }
    if (p->watchdog_timer != nullptr) {
        event_free(p->watchdog_timer);
    }
    event_base_free(p->base);
    bd_snapshot_unref(p->snap);
    delete p;
    bd_log_error(BD_LOG_NOTICE, nullptr, "exit");
    return rc == 0 ? 0 : 1;
}

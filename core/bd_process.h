/*
 * bd_process.h: the main thread's process: signals, the current snapshot and its
 * reloads, the listening sockets, the workers, readiness, drain and stop, and the
 * systemd notify protocol. Process-wide state of modules hangs off it.
 */
#ifndef BD_PROCESS_H
#define BD_PROCESS_H

#include <atomic>
#include <string>
#include <vector>

#include "core/bd_module.h"
#include "core/bd_snapshot.h"
#include "core/bd_worker.h"

struct event_base;
struct event;

struct bd_process_t {
    std::string conf_path;
    struct event_base *base;
    bd_snapshot_t *snap; /* the current snapshot (one reference) */
    std::vector<bd_worker_t *> workers;
    std::vector<std::string> listen_keys; /* the addresses the workers listen on */
    std::vector<int> listen_ports;        /* the port each of them is bound to */
    int signal_fd;              /* signalfd of bd_process_signals, read by the loop */
    struct event *signal_event; /* its read event */
    struct event *drain_timer;
    struct event *watchdog_timer;

    std::atomic<bool> draining; /* SIGTERM received: readiness says no */
    int64_t drain_deadline_us;
    int64_t listen_close_us; /* when the listeners close during a drain */
    bool listeners_closed;
    int exit_code;

    void *module_ctx[BD_MAX_MODULES]; /* process-wide module state (owned by the module) */
};

/* Runs the server with <snap> (one reference handed over) until it stops; returns
 * the exit code. Main thread. */
int bd_process_run(const char *conf_path, bd_snapshot_t *snap);

/* The current snapshot with one reference for the caller (any thread; a reload
 * may replace it right after). */
bd_snapshot_t *bd_process_snapshot(bd_process_t *p);

/* Readiness: 1 ready, 0 not with <reason> (any thread). */
int bd_process_ready(bd_process_t *p, char *reason, size_t len);

/* Writes <state> to $NOTIFY_SOCKET when set (systemd's sd_notify protocol). */
void bd_process_notify(const char *state);

#endif

/*
 * bd_restart.h: directives that take effect at the next restart only (BD_ARGS_RESTART
 * in a module's table: what a thread or listener of the process was built from).
 * The process remembers their values at start; a reload that changes one keeps
 * serving, and logs a warning naming it, on every reload until the restart.
 */
#ifndef BD_RESTART_H
#define BD_RESTART_H

#include <string>
#include <vector>

struct bd_snapshot_t;

/* Remembers the restart-only values of <snap>, the configuration the process
 * starts with. Main thread. */
void bd_restart_remember(const bd_snapshot_t *snap);

/* The restart-only directives whose values in <snap> differ from the remembered
 * ones, by name ("worker_threads", "bedrock max_connections"), each with a warning
 * logged. Main thread, at a reload. */
std::vector<std::string> bd_restart_check(const bd_snapshot_t *snap);

#endif

/*
 * bd_log.h: the error log and the access log. Callers on any thread append a
 * formatted line to an in-memory buffer under a short mutex; one writer thread
 * owned by this file writes the buffers out, so reactors never wait on a disk.
 * SIGUSR1 (bd_log_reopen) makes the writer reopen both files (logrotate).
 */
#ifndef BD_LOG_H
#define BD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <string>

enum bd_log_level_e {
    BD_LOG_EMERG = 0,
    BD_LOG_ALERT,
    BD_LOG_CRIT,
    BD_LOG_ERR,
    BD_LOG_WARN,
    BD_LOG_NOTICE,
    BD_LOG_INFO,
    BD_LOG_DEBUG,
};

enum bd_log_format_e {
    BD_LOG_FORMAT_TEXT = 0,
    BD_LOG_FORMAT_JSON,
};

/* "error" -> BD_LOG_ERR, ...; -1 for an unknown name. */
int bd_log_level_parse(const char *name);
const char *bd_log_level_name(int level);

/* Points the logs at <error_path> ("stderr" or a file) and <access_path> (a file,
 * or empty for off); <json> makes error lines JSON objects. Opens the files now,
 * on the calling thread (main), so errors surface at load or reload; returns 0,
 * or -1 with <err> set. */
int bd_log_configure(const char *error_path, int level, bool json, const char *access_path,
                     std::string *err);

/* Names the calling thread in error lines (and for ps); at most 15 characters.
 * Each thread calls it once when it starts. */
void bd_log_set_thread_name(const char *name);

/* Starts and stops the writer thread (main thread). Before start and after stop,
 * lines are written synchronously. Stop flushes everything. */
void bd_log_start(void);
void bd_log_stop(void);

/* Asks the writer to reopen both files (safe from the main thread's signal event). */
void bd_log_reopen(void);

/* True when <level> would be logged: check before formatting expensive arguments. */
bool bd_log_enabled(int level);

/* Error log line: "TIME [level] request_id=ID <message>", or with json
 * {"time","level","pid","thread","request_id","message"}. <request_id> may be null. */
void bd_log_error(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bd_log_verror(int level, const char *request_id, const char *fmt, va_list ap);

/* Appends one access-log line (already formatted, without the newline). */
void bd_log_access(const char *line, size_t len);

/* True when the access log is on. */
bool bd_log_access_enabled(void);

#endif

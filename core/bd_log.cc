/*
 * bd_log.cc: the two log sinks and their writer thread. The mutex guards the
 * pending buffers and the sink settings; the writer swaps a buffer out under it
 * and writes without it, so a slow disk never blocks a reactor for longer than
 * an append. While the writer runs it alone writes to and closes the files: a
 * reload hands it the old ones (with what was queued for them) to finish and close.
 */
#include "core/bd_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "core/bd_core.h"
#include "core/bd_json.h"
#include "core/bd_thread.h"

namespace {

struct bd_log_sink_t {
    std::string path; /* "stderr", a file path, or empty (off) */
    int fd;           /* -1 when off */
    std::string pending;
};

/* A file replaced by a reload: the writer writes what was queued for it, then
 * closes it. */
struct bd_log_retired_t {
    int fd;
    std::string pending;
};

struct bd_log_state_t {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running;
    bool stopping;
    bool reopen;
    int level;
    bool json;      /* error lines as JSON objects (error_log_format json) */
    bool access_on; /* mirrors access.fd >= 0 for lock-free checks */
    bd_log_sink_t error;
    bd_log_sink_t access;
    std::vector<bd_log_retired_t> retired; /* for the writer to finish and close */
};

/* The one log state; owned by this file, guarded by <lock>. */
bd_log_state_t bd_log_state = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false,
                                false, false, BD_LOG_NOTICE, false, false, {"stderr", 2, {}},
                                {"", -1, {}}, {}};

const size_t BD_LOG_FLUSH_BYTES = 64 * 1024;

/* The calling thread's name in error lines ("main", "worker-2", "store"...). */
thread_local char bd_log_thread_name[16] = "";

const char *const bd_log_level_names[] = {"emerg", "alert", "crit",  "error",
                                          "warn",  "notice", "info", "debug"};

} // namespace

int
bd_log_level_parse(const char *name)
{
    for (int i = 0; i <= BD_LOG_DEBUG; i++) {
        if (strcmp(name, bd_log_level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
bd_log_level_name(int level)
{
    if (level < 0 || level > BD_LOG_DEBUG) {
        return "unknown";
    }
    return bd_log_level_names[level];
}

static int
bd_log_open_path(const std::string &path, std::string *err)
{
    if (path.empty()) {
        return -1;
    }
    if (path == "stderr") {
        return 2;
    }
    if (path == "stdout") {
        return 1;
    }
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 && err != nullptr) {
        *err = "open() \"" + path + "\" failed (" + strerror(errno) + ")";
    }
    return fd;
}

static void
bd_log_close_fd(int fd)
{
    if (fd > 2) { /* stdout and stderr are never closed */
        close(fd);
    }
}

static void
bd_log_write_all(int fd, const std::string &data)
{
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a failing log; drop the rest */
        }
        off += (size_t)n;
    }
}

int
bd_log_configure(const char *error_path, int level, bool json, const char *access_path,
                 std::string *err)
{
    int efd = bd_log_open_path(error_path, err);
    if (efd < 0) {
        return -1;
    }
    int afd = -1;
    if (access_path != nullptr && access_path[0] != '\0') {
        afd = bd_log_open_path(access_path, err);
        if (afd < 0) {
            bd_log_close_fd(efd);
            return -1;
        }
    }

    bd_log_state_t *s = &bd_log_state;
    pthread_mutex_lock(&s->lock);
    /* What was queued goes to the old files. The writer may be writing to them now:
     * it finishes and closes them, so a reload never waits on a slow log under
     * the lock every line takes, and never closes a descriptor being written. */
    for (bd_log_sink_t *sink : {&s->error, &s->access}) {
        if (sink->fd < 0) {
            sink->pending.clear();
        } else if (s->running) {
            s->retired.push_back({sink->fd, std::move(sink->pending)});
            sink->pending.clear();
        } else {
            bd_log_write_all(sink->fd, sink->pending);
            sink->pending.clear();
            bd_log_close_fd(sink->fd);
        }
    }
    pthread_cond_signal(&s->wake);
    s->error.path = error_path;
    s->error.fd = efd;
    s->access.path = access_path ? access_path : "";
    s->access.fd = afd;
    __atomic_store_n(&s->access_on, afd >= 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->level, level, __ATOMIC_RELAXED);
    __atomic_store_n(&s->json, json, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void
bd_log_reopen_sink(bd_log_sink_t *sink)
{
    if (sink->fd <= 2) {
        return;
    }
    int fd = bd_log_open_path(sink->path, nullptr);
    if (fd >= 0) {
        bd_log_close_fd(sink->fd);
        sink->fd = fd;
    }
}

/* The writer's reopen (SIGUSR1): the files are opened without the lock, then put
 * in place unless a reload replaced the sink meanwhile. Returns the old
 * descriptors, for the writer to close once it has written to them. */
static std::vector<int>
bd_log_reopen_unlocked(bd_log_state_t *s)
{
    std::vector<int> old;
    for (bd_log_sink_t *sink : {&s->error, &s->access}) {
        if (sink->fd <= 2) {
            continue;
        }
        int was = sink->fd;
        std::string path = sink->path;
        pthread_mutex_unlock(&s->lock);
        int fd = bd_log_open_path(path, nullptr);
        pthread_mutex_lock(&s->lock);
        if (fd < 0) {
            continue;
        }
        if (sink->fd != was || sink->path != path) {
            bd_log_close_fd(fd); /* a reload put another file here */
            continue;
        }
        sink->fd = fd;
        old.push_back(was);
    }
    return old;
}

static void *
bd_log_writer_main(void *arg) noexcept
{
    bd_log_state_t *s = (bd_log_state_t *)arg;
    std::string err_out, acc_out;
    std::vector<bd_log_retired_t> retired;
    std::vector<int> reopened; /* descriptors replaced by a reopen, written up to now */

    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->error.pending.empty() && s->access.pending.empty() && s->retired.empty() &&
            !s->stopping && !s->reopen) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
        }
        if (s->reopen) {
            s->reopen = false;
            reopened = bd_log_reopen_unlocked(s);
        }
        retired.swap(s->retired);
        err_out.swap(s->error.pending);
        acc_out.swap(s->access.pending);
        int efd = s->error.fd, afd = s->access.fd;
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->lock);

        /* Only this thread writes to the files and closes them while it runs, so
         * every descriptor here stays open until it is done with it. Files a
         * reload replaced get what was queued for them first, then close. */
        for (int fd : reopened) {
            bd_log_close_fd(fd);
        }
        reopened.clear();
        for (bd_log_retired_t &r : retired) {
            bd_log_write_all(r.fd, r.pending);
            bd_log_close_fd(r.fd);
        }
        retired.clear();
        if (efd >= 0) {
            bd_log_write_all(efd, err_out);
        }
        if (afd >= 0) {
            bd_log_write_all(afd, acc_out);
        }
        err_out.clear();
        acc_out.clear();

        pthread_mutex_lock(&s->lock);
        if (stop && s->error.pending.empty() && s->access.pending.empty() &&
            s->retired.empty()) {
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return nullptr;
}

void
bd_log_start(void)
{
    bd_log_state_t *s = &bd_log_state;
    pthread_mutex_lock(&s->lock);
    if (s->running) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->running = true;
    s->stopping = false;
    pthread_mutex_unlock(&s->lock);
    if (bd_thread_create(&s->thread, bd_log_writer_main, s) != 0) {
        BD_FATAL("pthread_create(log writer) failed");
    }
}

void
bd_log_stop(void)
{
    bd_log_state_t *s = &bd_log_state;
    pthread_mutex_lock(&s->lock);
    if (!s->running) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, nullptr);
    pthread_mutex_lock(&s->lock);
    s->running = false;
    pthread_mutex_unlock(&s->lock);
}

void
bd_log_reopen(void)
{
    bd_log_state_t *s = &bd_log_state;
    pthread_mutex_lock(&s->lock);
    s->reopen = true;
    if (!s->running) {
        s->reopen = false;
        bd_log_reopen_sink(&s->error);
        bd_log_reopen_sink(&s->access);
    }
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

bool
bd_log_enabled(int level)
{
    /* A racy read of an int that only changes on reload: at worst one line is
     * filtered by the previous level. */
    return level <= __atomic_load_n(&bd_log_state.level, __ATOMIC_RELAXED);
}

/* Appends <line> to <sink>; writes synchronously when there is no writer thread. */
static void
bd_log_append(bd_log_sink_t *sink, const char *line, size_t len)
{
    bd_log_state_t *s = &bd_log_state;
    pthread_mutex_lock(&s->lock);
    if (sink->fd < 0) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    sink->pending.append(line, len);
    sink->pending.push_back('\n');
    if (!s->running) {
        bd_log_write_all(sink->fd, sink->pending);
        sink->pending.clear();
    } else if (sink->pending.size() >= BD_LOG_FLUSH_BYTES || sink == &s->error) {
        /* Errors go out promptly; access lines are batched. */
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

void
bd_log_set_thread_name(const char *name)
{
    snprintf(bd_log_thread_name, sizeof(bd_log_thread_name), "%s", name);
    pthread_setname_np(pthread_self(), bd_log_thread_name); /* for ps and top too */
}

/* "TIME [level] request_id=ID message" */
static size_t
bd_log_format_text(char *buf, size_t size, const char *time, int level, const char *request_id,
                   const char *fmt, va_list ap)
{
    int n = snprintf(buf, size, "%s [%s] ", time, bd_log_level_name(level));
    if (request_id != nullptr && request_id[0] != '\0') {
        n += snprintf(buf + n, size - (size_t)n, "request_id=%s ", request_id);
    }
    int m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    return len >= size ? size - 1 : len;
}

/* {"time","level","pid","thread","request_id","message"}: one object a line, the
 * message escaped (and cut at the same length as a text line). */
static void
bd_log_format_json(std::string *out, const char *time, int level, const char *request_id,
                   const char *fmt, va_list ap)
{
    char msg[4096];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t mlen = m < 0 ? 0 : ((size_t)m >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)m);
    char head[128];
    snprintf(head, sizeof(head), "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"thread\":", time,
             bd_log_level_name(level), (long)getpid());
    out->append(head);
    const char *thread = bd_log_thread_name[0] != '\0' ? bd_log_thread_name : "thread";
    bd_json_append_string(out, thread, strlen(thread));
    if (request_id != nullptr && request_id[0] != '\0') {
        out->append(",\"request_id\":");
        bd_json_append_string(out, request_id, strlen(request_id));
    }
    out->append(",\"message\":");
    bd_json_append_string(out, msg, mlen);
    out->push_back('}');
}

void
bd_log_verror(int level, const char *request_id, const char *fmt, va_list ap)
{
    if (!bd_log_enabled(level)) {
        return;
    }
    int64_t ms = bd_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char time[64];
    snprintf(time, sizeof(time), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    if (__atomic_load_n(&bd_log_state.json, __ATOMIC_RELAXED)) {
        std::string line;
        bd_log_format_json(&line, time, level, request_id, fmt, ap);
        bd_log_append(&bd_log_state.error, line.data(), line.size());
        return;
    }
    char buf[4096];
    size_t len = bd_log_format_text(buf, sizeof(buf), time, level, request_id, fmt, ap);
    bd_log_append(&bd_log_state.error, buf, len);
}

void
bd_log_error(int level, const char *request_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bd_log_verror(level, request_id, fmt, ap);
    va_end(ap);
}

void
bd_log_access(const char *line, size_t len)
{
    bd_log_append(&bd_log_state.access, line, len);
}

bool
bd_log_access_enabled(void)
{
    return __atomic_load_n(&bd_log_state.access_on, __ATOMIC_RELAXED);
}

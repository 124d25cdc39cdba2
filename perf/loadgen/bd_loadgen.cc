/*
 * bd_loadgen.cc: an open-loop HTTP/1.1 load generator for perf/. Request k is
 * due at start + k / rate, whatever the answers before it did; it goes out on an
 * idle keep-alive connection, or a new one (up to -c), or waits for one. Its
 * latency is counted from when it was due, not from when it was sent, so a server
 * that falls behind shows as latency, not as a lower rate (no coordinated
 * omission, as wrk2 and vegeta measure).
 *
 *   bd-loadgen -u http://127.0.0.1:8080/v1/messages -r 2000 -d 10 [-c 256]
 *              [-b body.json] [-H 'name: value' ...] [-K header_lines] [-t drain_seconds]
 *
 * -K FILE: one header line per line of FILE ("x-api-key: ..."), request k
 * carrying line k mod n: many API keys through one run, as a fleet serves them.
 *
 * Prints one line: BDLOAD rate=.. scheduled=.. ok=.. non2xx=.. errors=..
 * unsent=.. p50=.. p90=.. p99=.. p999=.. max=.. (latencies in µs). Exits 2 on bad
 * arguments, 1 when nothing answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

enum bd_lg_state_e { BD_LG_CONNECTING, BD_LG_IDLE, BD_LG_BUSY };

struct bd_lg_conn_t {
    int fd = -1;
    int state = BD_LG_CONNECTING;
    int64_t due_ns = 0;  /* when the request in flight was due */
    size_t sent = 0;     /* bytes of the request written */
    const std::string *request = nullptr; /* the request in flight */
    std::string in;      /* the answer so far */
};

struct bd_lg_t {
    struct sockaddr_in addr;
    std::vector<std::string> requests; /* the whole requests, built once (one per -K line) */
    uint64_t started = 0;              /* requests given a connection, for -K's rotation */
    int epfd = -1, timer = -1;
    std::vector<bd_lg_conn_t *> conns;
    std::vector<bd_lg_conn_t *> idle;
    std::deque<int64_t> waiting; /* due times of requests without a connection */
    size_t max_conns = 256;
    uint64_t ok = 0, non2xx = 0, errors = 0;
    std::vector<uint32_t> latency_us;
};

static int64_t
bd_lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
bd_lg_usage(void)
{
    fprintf(stderr, "usage: bd-loadgen -u http://HOST:PORT/PATH -r RATE -d SECONDS [-c CONNS] "
                    "[-b BODY_FILE] [-H 'name: value']... [-K HEADER_LINES_FILE] [-t DRAIN_SECONDS]\n");
    exit(2);
}

/* Parses http://a.b.c.d:port/path. Returns 0 or -1. */
static int
bd_lg_parse_url(const char *url, struct sockaddr_in *addr, std::string *host, std::string *path)
{
    if (strncmp(url, "http://", 7) != 0) {
        return -1;
    }
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    std::string hostport = slash ? std::string(h, (size_t)(slash - h)) : std::string(h);
    *path = slash ? slash : "/";
    size_t colon = hostport.rfind(':');
    std::string ip = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    int port = colon == std::string::npos ? 80 : atoi(hostport.c_str() + colon + 1);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &addr->sin_addr) != 1) {
        return -1;
    }
    *host = hostport;
    return 0;
}

static void
bd_lg_close(bd_lg_t *lg, bd_lg_conn_t *c)
{
    epoll_ctl(lg->epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    lg->idle.erase(std::remove(lg->idle.begin(), lg->idle.end(), c), lg->idle.end());
    lg->conns.erase(std::remove(lg->conns.begin(), lg->conns.end(), c), lg->conns.end());
    delete c;
}

/* Writes what is left of the request; arms EPOLLOUT while the socket is full. */
static int
bd_lg_write(bd_lg_t *lg, bd_lg_conn_t *c)
{
    const std::string &req = *c->request;
    while (c->sent < req.size()) {
        ssize_t n = send(c->fd, req.data() + c->sent, req.size() - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev = {EPOLLIN | EPOLLOUT, {c}};
            epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        if (n <= 0) {
            return -1;
        }
        c->sent += (size_t)n;
    }
    struct epoll_event ev = {EPOLLIN, {c}};
    epoll_ctl(lg->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

static void
bd_lg_fail(bd_lg_t *lg, bd_lg_conn_t *c)
{
    if (c->state != BD_LG_IDLE) {
        lg->errors++;
    }
    bd_lg_close(lg, c);
}

/* Sends the request due at <due_ns> on <c>. */
static void
bd_lg_start(bd_lg_t *lg, bd_lg_conn_t *c, int64_t due_ns)
{
    c->due_ns = due_ns;
    c->sent = 0;
    c->in.clear();
    c->request = &lg->requests[lg->started++ % lg->requests.size()];
    if (c->state == BD_LG_IDLE) {
        c->state = BD_LG_BUSY;
        if (bd_lg_write(lg, c) != 0) {
            bd_lg_fail(lg, c);
        }
    }
    /* a connecting socket writes once it is connected (EPOLLOUT) */
}

/* Opens a connection for the request due at <due_ns>. Returns 0 or -1. */
static int
bd_lg_open(bd_lg_t *lg, int64_t due_ns)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&lg->addr, sizeof(lg->addr)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    bd_lg_conn_t *c = new bd_lg_conn_t();
    c->fd = fd;
    c->state = BD_LG_CONNECTING;
    lg->conns.push_back(c);
    bd_lg_start(lg, c, due_ns); /* it writes once connected (EPOLLOUT) */
    struct epoll_event ev = {EPOLLIN | EPOLLOUT, {c}};
    epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

/* Gives waiting requests to idle connections, opening new ones up to the cap. */
static void
bd_lg_dispatch(bd_lg_t *lg)
{
    while (!lg->waiting.empty()) {
        int64_t due = lg->waiting.front();
        if (!lg->idle.empty()) {
            bd_lg_conn_t *c = lg->idle.back();
            lg->idle.pop_back();
            lg->waiting.pop_front();
            bd_lg_start(lg, c, due);
        } else if (lg->conns.size() < lg->max_conns) {
            lg->waiting.pop_front();
            if (bd_lg_open(lg, due) != 0) {
                lg->errors++;
            }
        } else {
            return;
        }
    }
}

/* The length of a complete chunked body at <p> (after the headers), or 0 while
 * it is incomplete, or -1 when it is malformed. */
static ssize_t
bd_lg_chunked_len(const char *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        const char *eol = (const char *)memmem(p + off, n - off, "\r\n", 2);
        if (eol == nullptr) {
            return 0;
        }
        char *end;
        unsigned long size = strtoul(p + off, &end, 16);
        if (end == p + off) {
            return -1;
        }
        off = (size_t)(eol - p) + 2;
        if (size == 0) {
            /* no trailers from the servers measured: the final CRLF */
            return n - off >= 2 ? (ssize_t)(off + 2) : 0;
        }
        if (n - off < size + 2) {
            return 0;
        }
        off += size + 2;
    }
}

/* Whether <c>'s answer is complete; on completion records it and returns 1. -1 on
 * a malformed answer. */
static int
bd_lg_answer(bd_lg_t *lg, bd_lg_conn_t *c, bool *close_after)
{
    const char *p = c->in.data();
    const char *hend = (const char *)memmem(p, c->in.size(), "\r\n\r\n", 4);
    if (hend == nullptr) {
        return 0;
    }
    size_t hlen = (size_t)(hend - p) + 4;
    if (c->in.size() < 12 || strncmp(p, "HTTP/1.", 7) != 0) {
        return -1;
    }
    int status = atoi(p + 9);
    ssize_t body = -1;
    bool chunked = false;
    *close_after = strncmp(p, "HTTP/1.0", 8) == 0;
    for (const char *line = (const char *)memchr(p, '\n', hlen) + 1; line < hend;) {
        const char *eol = (const char *)memchr(line, '\n', (size_t)(hend - line) + 2);
        if (strncasecmp(line, "content-length:", 15) == 0) {
            body = atol(line + 15);
        } else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strstr(line, "chunked") != nullptr &&
                   strstr(line, "chunked") < eol) {
            chunked = true;
        } else if (strncasecmp(line, "connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ') {
                v++;
            }
            *close_after = strncasecmp(v, "close", 5) == 0;
        }
        line = eol + 1;
    }
    size_t total;
    if (chunked) {
        ssize_t n = bd_lg_chunked_len(p + hlen, c->in.size() - hlen);
        if (n <= 0) {
            return (int)n;
        }
        total = hlen + (size_t)n;
    } else if (body >= 0) {
        if (c->in.size() < hlen + (size_t)body) {
            return 0;
        }
        total = hlen + (size_t)body;
    } else {
        return -1; /* no length: the servers measured always send one */
    }
    int64_t us = (bd_lg_now_ns() - c->due_ns) / 1000;
    lg->latency_us.push_back((uint32_t)(us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : us));
    if (status >= 200 && status < 300) {
        lg->ok++;
    } else {
        lg->non2xx++;
    }
    c->in.erase(0, total);
    return 1;
}

static void
bd_lg_on_event(bd_lg_t *lg, bd_lg_conn_t *c, uint32_t events)
{
    if (c->state == BD_LG_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            bd_lg_fail(lg, c);
            return;
        }
        c->state = BD_LG_BUSY;
        if (bd_lg_write(lg, c) != 0) {
            bd_lg_fail(lg, c);
        }
        return;
    }
    if ((events & EPOLLOUT) && c->state == BD_LG_BUSY && bd_lg_write(lg, c) != 0) {
        bd_lg_fail(lg, c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        return;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            bd_lg_fail(lg, c); /* reset or closed: a request in flight is an error */
            return;
        }
        c->in.append(buf, (size_t)n);
    }
    if (c->state != BD_LG_BUSY) {
        return;
    }
    bool close_after = false;
    int rc = bd_lg_answer(lg, c, &close_after);
    if (rc < 0) {
        bd_lg_fail(lg, c);
    } else if (rc > 0) {
        c->state = BD_LG_IDLE;
        if (close_after) {
            bd_lg_close(lg, c);
        } else {
            lg->idle.push_back(c);
        }
        bd_lg_dispatch(lg);
    }
}

static void
bd_lg_arm(bd_lg_t *lg, int64_t at_ns)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = at_ns / 1000000000;
    its.it_value.tv_nsec = at_ns % 1000000000;
    timerfd_settime(lg->timer, TFD_TIMER_ABSTIME, &its, nullptr);
}

static uint32_t
bd_lg_pct(const std::vector<uint32_t> &v, double p)
{
    if (v.empty()) {
        return 0;
    }
    size_t i = (size_t)(p / 100.0 * (double)(v.size() - 1) + 0.5);
    return v[i < v.size() ? i : v.size() - 1];
}

int
main(int argc, char **argv)
{
    const char *url = nullptr, *body_file = nullptr, *rotate_file = nullptr;
    double rate = 0, seconds = 0, drain = 5;
    std::vector<std::string> headers;
    bd_lg_t lg;
    int opt;
    while ((opt = getopt(argc, argv, "u:r:d:c:b:H:K:t:")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'c': lg.max_conns = (size_t)atol(optarg); break;
        case 'b': body_file = optarg; break;
        case 'H': headers.push_back(optarg); break;
        case 'K': rotate_file = optarg; break;
        case 't': drain = atof(optarg); break;
        default: bd_lg_usage();
        }
    }
    std::string host, path;
    if (url == nullptr || rate <= 0 || seconds <= 0 || lg.max_conns == 0 ||
        bd_lg_parse_url(url, &lg.addr, &host, &path) != 0) {
        bd_lg_usage();
    }
    std::string body;
    if (body_file != nullptr) {
        FILE *f = fopen(body_file, "rb");
        if (f == nullptr) {
            fprintf(stderr, "bd-loadgen: cannot open %s: %s\n", body_file, strerror(errno));
            return 2;
        }
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
            body.append(buf, n);
        }
        fclose(f);
    }
    std::vector<std::string> rotated = {""};
    if (rotate_file != nullptr) {
        FILE *f = fopen(rotate_file, "r");
        if (f == nullptr) {
            fprintf(stderr, "bd-loadgen: cannot open %s: %s\n", rotate_file, strerror(errno));
            return 2;
        }
        rotated.clear();
        char line[4096];
        while (fgets(line, sizeof(line), f) != nullptr) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] != '\0') {
                rotated.push_back(std::string(line) + "\r\n");
            }
        }
        fclose(f);
        if (rotated.empty()) {
            fprintf(stderr, "bd-loadgen: %s holds no header line\n", rotate_file);
            return 2;
        }
    }
    std::string head = std::string(body_file ? "POST " : "GET ") + path + " HTTP/1.1\r\nHost: " + host + "\r\n";
    if (body_file != nullptr) {
        head += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    for (const std::string &h : headers) {
        head += h + "\r\n";
    }
    for (const std::string &r : rotated) {
        lg.requests.push_back(head + r + "\r\n" + body);
    }

    lg.epfd = epoll_create1(EPOLL_CLOEXEC);
    lg.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {EPOLLIN, {nullptr}};
    epoll_ctl(lg.epfd, EPOLL_CTL_ADD, lg.timer, &tev);

    uint64_t total = (uint64_t)(rate * seconds + 0.5);
    double interval_ns = 1e9 / rate;
    lg.latency_us.reserve(total);
    int64_t start = bd_lg_now_ns();
    uint64_t next = 0; /* the next request to schedule */
    int64_t drain_until = 0;
    struct epoll_event evs[256];
    bd_lg_arm(&lg, start);
    for (;;) {
        int n = epoll_wait(lg.epfd, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            bd_lg_conn_t *c = (bd_lg_conn_t *)evs[i].data.ptr;
            if (c == nullptr) {
                uint64_t ticks;
                if (read(lg.timer, &ticks, sizeof(ticks)) < 0) {
                    /* spurious wake-up: the schedule below is read from the clock */
                }
                continue;
            }
            /* a connection closed earlier in this batch is gone: skip its events */
            if (std::find(lg.conns.begin(), lg.conns.end(), c) == lg.conns.end()) {
                continue;
            }
            bd_lg_on_event(&lg, c, evs[i].events);
        }
        int64_t now = bd_lg_now_ns();
        while (next < total && start + (int64_t)((double)next * interval_ns) <= now) {
            lg.waiting.push_back(start + (int64_t)((double)next * interval_ns));
            next++;
        }
        bd_lg_dispatch(&lg);
        if (next < total) {
            bd_lg_arm(&lg, start + (int64_t)((double)next * interval_ns));
            continue;
        }
        if (drain_until == 0) {
            drain_until = now + (int64_t)(drain * 1e9);
        }
        bool busy = !lg.waiting.empty();
        for (bd_lg_conn_t *c : lg.conns) {
            busy = busy || c->state != BD_LG_IDLE;
        }
        if (!busy || now >= drain_until) {
            break;
        }
    }
    int64_t end = bd_lg_now_ns();
    uint64_t unfinished = lg.waiting.size();
    for (bd_lg_conn_t *c : lg.conns) {
        unfinished += c->state != BD_LG_IDLE ? 1 : 0;
    }
    std::vector<uint32_t> &v = lg.latency_us;
    std::sort(v.begin(), v.end());
    printf("BDLOAD rate=%.0f duration_us=%lld scheduled=%llu ok=%llu non2xx=%llu errors=%llu "
           "unfinished=%llu conns=%zu p50=%u p90=%u p99=%u p999=%u max=%u\n",
           rate, (long long)((end - start) / 1000), (unsigned long long)total,
           (unsigned long long)lg.ok, (unsigned long long)lg.non2xx, (unsigned long long)lg.errors,
           (unsigned long long)unfinished, lg.conns.size(), bd_lg_pct(v, 50), bd_lg_pct(v, 90),
           bd_lg_pct(v, 99), bd_lg_pct(v, 99.9), v.empty() ? 0 : v.back());
    return lg.ok + lg.non2xx > 0 ? 0 : 1;
}

/*
 * bd_emu_main.cc: bedrock-emulator's command line, listeners and loops. The main thread
 * parses options, binds one SO_REUSEPORT socket per loop (so the kernel spreads
 * connections), prints the bound port on the first stdout line (and, with --h2, the
 * HTTP/2 port on the second, in the same write), then runs loop 0 itself
 * while loops 1..N-1 run on their own threads. Nothing is shared between loops but the
 * read-only options.
 */
#include "tests/emulator/bd_emu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/rand.h>

#define BD_EMU_MAX_BODY (32 * 1024 * 1024)
#define BD_EMU_MAX_THREADS 64

static const char bd_emu_usage[] =
    "usage: bedrock-emulator [options]\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:0; port 0 = any free)\n"
    "  --threads N            event loops sharing the port with SO_REUSEPORT (default 1)\n"
    "  --h2 PORT              also serve HTTP/2 over TLS (ALPN h2) on PORT of the --listen\n"
    "                         address (0 = any free); needs --tls-cert and --tls-key\n"
    "  --tls-cert FILE        PEM certificate (chain) of the --h2 port\n"
    "  --tls-key FILE         PEM private key of the --h2 port\n"
    "  --access-key ID        SigV4 access key id accepted (default AKIDEXAMPLE)\n"
    "  --secret-key KEY       SigV4 secret used to verify signatures\n"
    "                         (default wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY)\n"
    "  --no-verify            accept any request without checking its credentials\n"
    "  --bearer-token T       also accept 'Authorization: Bearer T' (Bedrock API keys)\n"
    "  --region R             region the signatures must be scoped to (default us-east-1)\n"
    "  --ttft-ms MS           delay before the first output (default 0)\n"
    "  --tokens-per-sec R     output pace, in pieces per second (default 0 = unlimited)\n"
    "  --output-tokens N      output length in pieces (default 0 = the echo's length)\n"
    "  --record FILE          append each runtime request (operation, model, body) to FILE\n"
    "                         as one JSON line\n"
    "  -h, --help             show this help\n"
    "The first line on stdout is 'bedrock-emulator listening on HOST:PORT'.\n"
    "Scenarios: put [[emu:NAME key=value ...]] in the last user message, or send the\n"
    "header 'x-emulator-scenario: NAME key=value ...'. See tests/emulator/README.md.\n";

enum {
    BD_EMU_OPT_LISTEN = 256,
    BD_EMU_OPT_THREADS,
    BD_EMU_OPT_ACCESS_KEY,
    BD_EMU_OPT_SECRET_KEY,
    BD_EMU_OPT_NO_VERIFY,
    BD_EMU_OPT_BEARER,
    BD_EMU_OPT_REGION,
    BD_EMU_OPT_TTFT,
    BD_EMU_OPT_TPS,
    BD_EMU_OPT_TOKENS,
    BD_EMU_OPT_RECORD,
    BD_EMU_OPT_H2,
    BD_EMU_OPT_TLS_CERT,
    BD_EMU_OPT_TLS_KEY,
};

static const struct option bd_emu_long_options[] = {
    {"listen", required_argument, nullptr, BD_EMU_OPT_LISTEN},
    {"threads", required_argument, nullptr, BD_EMU_OPT_THREADS},
    {"access-key", required_argument, nullptr, BD_EMU_OPT_ACCESS_KEY},
    {"secret-key", required_argument, nullptr, BD_EMU_OPT_SECRET_KEY},
    {"no-verify", no_argument, nullptr, BD_EMU_OPT_NO_VERIFY},
    {"bearer-token", required_argument, nullptr, BD_EMU_OPT_BEARER},
    {"region", required_argument, nullptr, BD_EMU_OPT_REGION},
    {"ttft-ms", required_argument, nullptr, BD_EMU_OPT_TTFT},
    {"tokens-per-sec", required_argument, nullptr, BD_EMU_OPT_TPS},
    {"output-tokens", required_argument, nullptr, BD_EMU_OPT_TOKENS},
    {"record", required_argument, nullptr, BD_EMU_OPT_RECORD},
    {"h2", required_argument, nullptr, BD_EMU_OPT_H2},
    {"tls-cert", required_argument, nullptr, BD_EMU_OPT_TLS_CERT},
    {"tls-key", required_argument, nullptr, BD_EMU_OPT_TLS_KEY},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

static void
bd_emu_die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bedrock-emulator: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static long
bd_emu_number(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > max) {
        bd_emu_die("invalid number: %s", s);
    }
    return v;
}

static void
bd_emu_parse_listen(bd_emu_options_t *o, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    if (colon == nullptr) {
        bd_emu_die("--listen wants HOST:PORT, got %s", arg);
    }
    o->listen_host.assign(arg, colon - arg);
    o->listen_port = (int)bd_emu_number(colon + 1, 65535);
}

static void
bd_emu_parse_options(int argc, char **argv, bd_emu_options_t *o)
{
    o->listen_host = "127.0.0.1";
    o->listen_port = 0;
    o->h2 = false;
    o->h2_port = 0;
    o->tls = nullptr;
    std::string tls_cert;
    std::string tls_key;
    o->threads = 1;
    o->access_key = "AKIDEXAMPLE";
    o->secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    o->region = "us-east-1";
    o->verify = true;
    o->ttft_ms = 0;
    o->tokens_per_sec = 0;
    o->output_tokens = 0;
    o->record_fd = -1;
    int c;
    while ((c = getopt_long(argc, argv, "h", bd_emu_long_options, nullptr)) != -1) {
        switch (c) {
        case BD_EMU_OPT_LISTEN: bd_emu_parse_listen(o, optarg); break;
        case BD_EMU_OPT_THREADS: o->threads = (int)bd_emu_number(optarg, BD_EMU_MAX_THREADS); break;
        case BD_EMU_OPT_H2:
            o->h2 = true;
            o->h2_port = (int)bd_emu_number(optarg, 65535);
            break;
        case BD_EMU_OPT_TLS_CERT: tls_cert = optarg; break;
        case BD_EMU_OPT_TLS_KEY: tls_key = optarg; break;
        case BD_EMU_OPT_ACCESS_KEY: o->access_key = optarg; break;
        case BD_EMU_OPT_SECRET_KEY: o->secret_key = optarg; break;
        case BD_EMU_OPT_NO_VERIFY: o->verify = false; break;
        case BD_EMU_OPT_BEARER: o->bearer_token = optarg; break;
        case BD_EMU_OPT_REGION: o->region = optarg; break;
        case BD_EMU_OPT_TTFT: o->ttft_ms = bd_emu_number(optarg, 3600000); break;
        case BD_EMU_OPT_TPS: o->tokens_per_sec = (double)bd_emu_number(optarg, 1000000); break;
        case BD_EMU_OPT_TOKENS: o->output_tokens = bd_emu_number(optarg, 10000000); break;
        case BD_EMU_OPT_RECORD:
            o->record_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (o->record_fd < 0) {
                bd_emu_die("cannot open the --record file %s", optarg);
            }
            break;
        case 'h': fputs(bd_emu_usage, stdout); exit(0);
        default: fputs(bd_emu_usage, stderr); exit(2);
        }
    }
    if (optind < argc) {
        bd_emu_die("unexpected argument: %s", argv[optind]);
    }
    if (o->h2 && (tls_cert.empty() || tls_key.empty())) {
        bd_emu_die("--h2 needs --tls-cert and --tls-key%s", "");
    }
    if (o->h2) {
        o->tls = bd_emu_h2_tls(tls_cert, tls_key);
    }
    if (o->threads < 1) {
        o->threads = 1;
    }
}

/* Binds one listening socket; <port> is updated with the port the kernel chose. */
static int
bd_emu_listen_socket(const std::string &host, int *port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)*port);
        len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)*port);
        len = sizeof(*sin6);
    } else {
        bd_emu_die("--listen wants a numeric address, got %s", host.c_str());
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        bd_emu_die("cannot listen: %s", strerror(errno));
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        *port = ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
    }
    return fd;
}

static void
bd_emu_loop_init(bd_emu_loop_t *lp, const bd_emu_options_t *opts, uint32_t id, int fd,
                 uint64_t nonce)
{
    lp->opts = opts;
    lp->id = id;
    lp->nonce = nonce;
    lp->next_request = 0;
    lp->h2 = nullptr;
    lp->base = event_base_new();
    lp->http = lp->base ? evhttp_new(lp->base) : nullptr;
    if (lp->http == nullptr) {
        bd_emu_die("cannot create the event loop%s", "");
    }
    evhttp_set_gencb(lp->http, bd_emu_h1_on_request, lp);
    evhttp_set_max_body_size(lp->http, BD_EMU_MAX_BODY);
    evhttp_set_allowed_methods(lp->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    if (evhttp_accept_socket_with_handle(lp->http, fd) == nullptr) {
        bd_emu_die("cannot accept on the listening socket%s", "");
    }
}

static void *
bd_emu_loop_run(void *arg) noexcept
{
    bd_emu_loop_t *lp = (bd_emu_loop_t *)arg;
    event_base_dispatch(lp->base);
    return nullptr;
}

/* SIGTERM/SIGINT: the emulator keeps no state worth saving, so it just exits. */
static void
bd_emu_on_signal(evutil_socket_t sig, short events, void *arg) noexcept
{
    (void)sig;
    (void)events;
    (void)arg;
    fflush(stdout);
    _exit(0);
}

int
main(int argc, char **argv)
{
    bd_emu_options_t opts;
    bd_emu_parse_options(argc, argv, &opts);
    signal(SIGPIPE, SIG_IGN);

    uint64_t nonce = 0;
    if (RAND_bytes((unsigned char *)&nonce, sizeof(nonce)) != 1) {
        nonce = (uint64_t)getpid() * 2654435761ULL;
    }
    int port = opts.listen_port;
    std::vector<int> fds;
    for (int i = 0; i < opts.threads; i++) {
        fds.push_back(bd_emu_listen_socket(opts.listen_host, &port));
    }
    int h2_port = opts.h2_port;
    std::vector<int> h2_fds;
    for (int i = 0; opts.h2 && i < opts.threads; i++) {
        h2_fds.push_back(bd_emu_listen_socket(opts.listen_host, &h2_port));
    }
    std::vector<bd_emu_loop_t> loops(opts.threads);
    for (int i = 0; i < opts.threads; i++) {
        bd_emu_loop_init(&loops[i], &opts, (uint32_t)i, fds[i], nonce);
        if (opts.h2) {
            bd_emu_h2_listen(&loops[i], h2_fds[i]);
        }
    }
    struct event *term = evsignal_new(loops[0].base, SIGTERM, bd_emu_on_signal, nullptr);
    struct event *intr = evsignal_new(loops[0].base, SIGINT, bd_emu_on_signal, nullptr);
    evsignal_add(term, nullptr);
    evsignal_add(intr, nullptr);

    printf("bedrock-emulator listening on %s:%d\n", opts.listen_host.c_str(), port);
    if (opts.h2) {
        printf("bedrock-emulator h2 on %s:%d\n", opts.listen_host.c_str(), h2_port);
    }
    fflush(stdout);

    for (int i = 1; i < opts.threads; i++) {
        pthread_t t;
        if (pthread_create(&t, nullptr, bd_emu_loop_run, &loops[i]) != 0) {
            bd_emu_die("cannot start a loop thread%s", "");
        }
        pthread_detach(t);
    }
    bd_emu_loop_run(&loops[0]);
    return 0;
}

/*
 * bd_main.cc: command-line flags, the first configuration load, and the start of
 * the process. Knows no module's directives.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "core/bd_core_module.h"
#include "core/bd_malloc.h"
#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_snapshot.h"

#ifndef BD_DEFAULT_CONF
#define BD_DEFAULT_CONF "/etc/bedrockd/bedrockd.conf"
#endif
#ifndef BD_BUILD_OPTIONS
#define BD_BUILD_OPTIONS "unknown"
#endif

struct bd_flags_t {
    const char *conf_path;
    bool test;
    bool dump;
    const char *signal_name;
};

static void
bd_main_usage(FILE *out)
{
    fprintf(out,
            "Usage: bedrockd [-h] [-v] [-t | -T] [-c FILE] [-s SIGNAL]\n"
            "\n"
            "Options:\n"
            "  -h          show this help and exit\n"
            "  -v          show the version and build options and exit\n"
            "  -t          test the configuration and exit (status 0 when valid)\n"
            "  -T          test the configuration, print the effective configuration, exit\n"
            "  -c FILE     configuration file (default: " BD_DEFAULT_CONF ")\n"
            "  -s SIGNAL   send SIGNAL to the running daemon named by the \"pid\" directive:\n"
            "              reload (SIGHUP), stop (SIGTERM, drain then exit), quit (SIGQUIT,\n"
            "              drain then exit), reopen (SIGUSR1, reopen log files)\n");
}

static void
bd_main_version(void)
{
    printf("bedrockd version %s\n", BD_VERSION);
    printf("built with libevent %s, libcurl %s, jansson %s, %s, SQLite %s\n",
           event_get_version(), curl_version_info(CURLVERSION_NOW)->version, JANSSON_VERSION,
           OPENSSL_VERSION_TEXT, sqlite3_libversion());
    printf("build options: %s; %s\n", BD_BUILD_OPTIONS, bd_malloc_name());
}

static int
bd_main_parse_flags(int argc, char **argv, bd_flags_t *f)
{
    int c;
    opterr = 0;
    while ((c = getopt(argc, argv, "hvtTc:s:")) != -1) {
        switch (c) {
        case 'h':
            bd_main_usage(stdout);
            exit(0);
        case 'v':
            bd_main_version();
            exit(0);
        case 't':
            f->test = true;
            break;
        case 'T':
            f->test = true;
            f->dump = true;
            break;
        case 'c':
            f->conf_path = optarg;
            break;
        case 's':
            f->signal_name = optarg;
            break;
        default:
            if (optopt == 'c' || optopt == 's') {
                fprintf(stderr, "bedrockd: option \"-%c\" requires an argument\n", optopt);
            } else {
                fprintf(stderr, "bedrockd: invalid option: \"-%c\"\n", optopt);
            }
            bd_main_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bedrockd: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* -s: read the pid file named by the configuration and signal that process. */
static int
bd_main_signal(const bd_snapshot_t *snap, const char *name)
{
    int sig = strcmp(name, "reload") == 0   ? SIGHUP
              : strcmp(name, "stop") == 0   ? SIGTERM
              : strcmp(name, "quit") == 0   ? SIGQUIT
              : strcmp(name, "reopen") == 0 ? SIGUSR1
                                            : 0;
    if (sig == 0) {
        fprintf(stderr, "bedrockd: invalid signal \"%s\" (reload, stop, quit, reopen)\n", name);
        return 1;
    }
    const std::string &path = bd_core_conf(snap)->pid_path;
    if (path.empty()) {
        fprintf(stderr, "bedrockd: no \"pid\" directive in %s\n", snap->conf_path.c_str());
        return 1;
    }
    FILE *f = fopen(path.c_str(), "re");
    long pid = 0;
    if (f == nullptr || fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
        fprintf(stderr, "bedrockd: cannot read a pid from \"%s\" (%s)\n", path.c_str(),
                f ? "bad content" : strerror(errno));
        if (f != nullptr) {
            fclose(f);
        }
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, sig) != 0) {
        fprintf(stderr, "bedrockd: kill(%ld, %s) failed (%s)\n", pid, name, strerror(errno));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    bd_flags_t flags = {BD_DEFAULT_CONF, false, false, nullptr};
    if (bd_main_parse_flags(argc, argv, &flags) != 0) {
        return 1;
    }
    bd_log_set_thread_name("main");
    bd_modules_init();
    bd_malloc_init_process();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bedrockd: curl_global_init() failed\n");
        return 1;
    }

    std::string err;
    bd_snapshot_t *snap = bd_snapshot_load(flags.conf_path, nullptr, &err);
    if (snap == nullptr) {
        fprintf(stderr, "bedrockd: %s\n", err.c_str());
        if (flags.test) {
            fprintf(stderr, "bedrockd: configuration file %s test failed\n", flags.conf_path);
        }
        return 1;
    }
    if (flags.test) {
        if (flags.dump) {
            std::string text;
            bd_snapshot_print(snap, &text);
            printf("# configuration file %s:\n%s", flags.conf_path, text.c_str());
        }
        fprintf(stderr, "bedrockd: the configuration file %s syntax is ok\n", flags.conf_path);
        fprintf(stderr, "bedrockd: configuration file %s test is successful\n", flags.conf_path);
        bd_snapshot_unref(snap);
        return 0;
    }
    if (flags.signal_name != nullptr) {
        int rc = bd_main_signal(snap, flags.signal_name);
        bd_snapshot_unref(snap);
        return rc;
    }

    const bd_core_conf_t *ccf = bd_core_conf(snap);
    if (bd_log_configure(ccf->error_log.c_str(), ccf->error_log_level,
                         ccf->error_log_format == BD_LOG_FORMAT_JSON, ccf->access_log.c_str(),
                         &err) != 0) {
        fprintf(stderr, "bedrockd: %s\n", err.c_str());
        bd_snapshot_unref(snap);
        return 1;
    }
    bd_log_start();
    int rc = bd_process_run(flags.conf_path, snap);
    bd_log_stop();
    curl_global_cleanup();
    return rc;
}

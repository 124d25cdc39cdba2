/*
 * bd_notify_test.cc: bedrockd speaks systemd's notify protocol. Each test binds an
 * AF_UNIX datagram socket in a temp dir, runs the real binary with NOTIFY_SOCKET
 * pointing at it and reads the states it sends. Single-threaded; every wait is
 * a bounded poll() on a descriptor (the socket, or a pidfd for the exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

extern char **environ;

static const int BD_WAIT_MS = 10000;

/* One bedrockd under test and its notify socket. */
struct bd_notify_fixture_t {
    std::string dir;
    std::string conf_path;
    std::string sock_path;
    int sock;
    pid_t pid;
    int pidfd; /* -1 when the kernel has no pidfd_open */
};

static const char *
bd_notify_binary(void)
{
    const char *env = getenv("BD_BEDROCKD");
    if (env != nullptr && env[0] != '\0') {
        return env;
    }
#ifdef BD_BEDROCKD_PATH
    return BD_BEDROCKD_PATH;
#else
    return nullptr;
#endif
}

static int64_t
bd_notify_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
bd_notify_write_file(const std::string &path, const std::string &text)
{
    FILE *f = fopen(path.c_str(), "we");
    ASSERT_NE(f, nullptr) << path << ": " << strerror(errno);
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
}

static std::string
bd_notify_read_file(const std::string &path)
{
    std::string out;
    FILE *f = fopen(path.c_str(), "re");
    if (f == nullptr) {
        return out;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        out.append(buf, n);
    }
    fclose(f);
    return out;
}

/* The environment of the child: ours without any systemd or AWS settings, plus
 * <extra> (the emulator's static credentials keep the AWS chain off the network). */
static std::vector<std::string>
bd_notify_child_env(const bd_notify_fixture_t *fx, const std::vector<std::string> &extra)
{
    std::vector<std::string> env;
    for (char **e = environ; *e != nullptr; e++) {
        if (strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 || strncmp(*e, "WATCHDOG_", 9) == 0 ||
            strncmp(*e, "AWS_", 4) == 0) {
            continue;
        }
        env.push_back(*e);
    }
    env.push_back("NOTIFY_SOCKET=" + fx->sock_path);
    env.push_back("AWS_ACCESS_KEY_ID=AKIDEXAMPLE");
    env.push_back("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    env.push_back("AWS_REGION=us-east-1");
    env.push_back("AWS_CONFIG_FILE=" + fx->dir + "/no-aws-config");
    env.push_back("AWS_SHARED_CREDENTIALS_FILE=" + fx->dir + "/no-aws-credentials");
    env.push_back("AWS_EC2_METADATA_DISABLED=true");
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

static void
bd_notify_setup(bd_notify_fixture_t *fx)
{
    char tmpl[] = "/tmp/bd-notify-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    fx->dir = tmpl;
    fx->conf_path = fx->dir + "/bedrockd.conf";
    fx->sock_path = fx->dir + "/notify.sock";
    fx->pid = -1;
    fx->pidfd = -1;
    fx->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fx->sock, 0) << strerror(errno);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    ASSERT_LT(fx->sock_path.size(), sizeof(sa.sun_path));
    memcpy(sa.sun_path, fx->sock_path.c_str(), fx->sock_path.size());
    ASSERT_EQ(bind(fx->sock, (struct sockaddr *)&sa, sizeof(sa)), 0) << strerror(errno);
}

/* Starts bedrockd -c conf with stderr to dir/stderr.log. */
static void
bd_notify_spawn(bd_notify_fixture_t *fx, const std::vector<std::string> &extra_env)
{
    const char *bin = bd_notify_binary();
    ASSERT_NE(bin, nullptr) << "set BD_BEDROCKD to the bedrockd binary";
    ASSERT_EQ(access(bin, X_OK), 0) << bin << ": " << strerror(errno);
    std::vector<std::string> env = bd_notify_child_env(fx, extra_env);
    std::vector<char *> envp;
    for (std::string &s : env) {
        envp.push_back(&s[0]);
    }
    envp.push_back(nullptr);
    std::string log = fx->dir + "/stderr.log";

    pid_t pid = fork();
    ASSERT_GE(pid, 0) << strerror(errno);
    if (pid == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDWR);
        if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 || dup2(null, 0) < 0) {
            _exit(127);
        }
        char *argv[] = {(char *)bin, (char *)"-c", (char *)fx->conf_path.c_str(), nullptr};
        execve(bin, argv, envp.data());
        _exit(127);
    }
    fx->pid = pid;
    fx->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The next datagram within <ms>, or "" on timeout. */
static std::string
bd_notify_next(bd_notify_fixture_t *fx, int ms)
{
    struct pollfd p = {fx->sock, POLLIN, 0};
    int rc;
    do {
        rc = poll(&p, 1, ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0) {
        return "";
    }
    char buf[4096];
    ssize_t n = recv(fx->sock, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, (size_t)n) : std::string();
}

/* Whether one of the newline-separated assignments in <msg> is exactly <field>. */
static bool
bd_notify_has_field(const std::string &msg, const char *field)
{
    size_t pos = 0;
    while (pos <= msg.size()) {
        size_t nl = msg.find('\n', pos);
        std::string line = msg.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (line == field) {
            return true;
        }
        if (nl == std::string::npos) {
            break;
        }
        pos = nl + 1;
    }
    return false;
}

/* Waits up to BD_WAIT_MS for a message carrying <field>, skipping WATCHDOG=1
 * keep-alives only when <skip_watchdog>. Returns the message or "" (and records
 * what came instead in <seen>). */
static std::string
bd_notify_expect(bd_notify_fixture_t *fx, const char *field, bool skip_watchdog, std::string *seen)
{
    int64_t deadline = bd_notify_now_ms() + BD_WAIT_MS;
    for (;;) {
        int64_t left = deadline - bd_notify_now_ms();
        if (left <= 0) {
            return "";
        }
        std::string msg = bd_notify_next(fx, (int)left);
        if (msg.empty()) {
            return "";
        }
        if (bd_notify_has_field(msg, field)) {
            return msg;
        }
        if (skip_watchdog && msg == "WATCHDOG=1") {
            continue;
        }
        seen->append(msg + "|");
        return "";
    }
}

/* Waits up to BD_WAIT_MS for the child's exit; returns its wait status or -1. */
static int
bd_notify_wait_exit(bd_notify_fixture_t *fx)
{
    int status = 0;
    int64_t deadline = bd_notify_now_ms() + BD_WAIT_MS;
    while (bd_notify_now_ms() < deadline) {
        pid_t rc = waitpid(fx->pid, &status, WNOHANG);
        if (rc == fx->pid) {
            fx->pid = -1;
            return status;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
        /* With a pidfd this wakes at the exit; without one it is a short poll period. */
        struct pollfd p = {fx->pidfd, POLLIN, 0};
        poll(&p, fx->pidfd >= 0 ? 1 : 0, fx->pidfd >= 0 ? 100 : 10);
    }
    return -1;
}

static void
bd_notify_teardown(bd_notify_fixture_t *fx)
{
    if (fx->pid > 0) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, nullptr, 0);
    }
    if (fx->pidfd >= 0) {
        close(fx->pidfd);
    }
    if (fx->sock >= 0) {
        close(fx->sock);
    }
    std::string rm = "rm -rf '" + fx->dir + "'";
    if (!fx->dir.empty() && getenv("BD_KEEP_TMP") == nullptr && system(rm.c_str()) != 0) {
        fprintf(stderr, "could not remove %s\n", fx->dir.c_str());
    }
}

class NotifyTest : public ::testing::Test {
  protected:
    void
    SetUp() override
    {
        fx.sock = -1;
        bd_notify_setup(&fx);
    }

    void
    TearDown() override
    {
        if (HasFailure()) {
            fprintf(stderr, "bedrockd stderr:\n%s\n",
                    bd_notify_read_file(fx.dir + "/stderr.log").c_str());
        }
        bd_notify_teardown(&fx);
    }

    bd_notify_fixture_t fx;
};

static const char *const BD_NOTIFY_CONF = "listen 127.0.0.1:0;\nworker_threads 1;\n";

TEST_F(NotifyTest, ReadyReloadingStoppingAndCleanExit)
{
    bd_notify_write_file(fx.conf_path, BD_NOTIFY_CONF);
    ASSERT_NO_FATAL_FAILURE(bd_notify_spawn(&fx, {}));
    std::string seen;

    ASSERT_NE(bd_notify_expect(&fx, "READY=1", false, &seen), "") << "no READY=1; got " << seen;

    /* A good reload: RELOADING=1, then READY=1 once the new configuration runs. */
    bd_notify_write_file(fx.conf_path, std::string(BD_NOTIFY_CONF) + "shutdown_timeout 5s;\n");
    ASSERT_EQ(kill(fx.pid, SIGHUP), 0);
    ASSERT_NE(bd_notify_expect(&fx, "RELOADING=1", false, &seen), "") << "got " << seen;
    ASSERT_NE(bd_notify_expect(&fx, "READY=1", false, &seen), "") << "got " << seen;

    /* A broken one: the same pair, and the daemon keeps running. */
    bd_notify_write_file(fx.conf_path, std::string(BD_NOTIFY_CONF) + "no_such_directive 1;\n");
    ASSERT_EQ(kill(fx.pid, SIGHUP), 0);
    ASSERT_NE(bd_notify_expect(&fx, "RELOADING=1", false, &seen), "") << "got " << seen;
    ASSERT_NE(bd_notify_expect(&fx, "READY=1", false, &seen), "") << "got " << seen;
    ASSERT_EQ(waitpid(fx.pid, nullptr, WNOHANG), 0) << "bedrockd died on a broken reload";

    ASSERT_EQ(kill(fx.pid, SIGTERM), 0);
    ASSERT_NE(bd_notify_expect(&fx, "STOPPING=1", false, &seen), "") << "got " << seen;
    int status = bd_notify_wait_exit(&fx);
    ASSERT_NE(status, -1) << "bedrockd did not exit after SIGTERM";
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(bd_notify_read_file(fx.dir + "/stderr.log").find("unknown directive"),
              std::string::npos);
}

TEST_F(NotifyTest, WatchdogKeepAlivesWhenWatchdogUsecIsSet)
{
    bd_notify_write_file(fx.conf_path, BD_NOTIFY_CONF);
    ASSERT_NO_FATAL_FAILURE(bd_notify_spawn(&fx, {"WATCHDOG_USEC=200000"}));
    std::string seen;

    ASSERT_NE(bd_notify_expect(&fx, "READY=1", true, &seen), "") << "got " << seen;
    /* Two keep-alives show a period, not a one-off message. */
    ASSERT_NE(bd_notify_expect(&fx, "WATCHDOG=1", false, &seen), "") << "got " << seen;
    ASSERT_NE(bd_notify_expect(&fx, "WATCHDOG=1", false, &seen), "") << "got " << seen;

    ASSERT_EQ(kill(fx.pid, SIGTERM), 0);
    ASSERT_NE(bd_notify_expect(&fx, "STOPPING=1", true, &seen), "") << "got " << seen;
    int status = bd_notify_wait_exit(&fx);
    ASSERT_NE(status, -1) << "bedrockd did not exit after SIGTERM";
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

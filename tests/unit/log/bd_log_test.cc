/*
 * bd_log_test.cc: a reload that points the error log elsewhere while the old one (a
 * pipe nobody reads, as a stalled journald or container runtime would be) cannot
 * take more: the reload returns at once, so the lock every log line takes is never
 * held on a write; the lines queued for the old log still reach it, in order, once
 * it is read again, and none of them lands in the new file.
 */
#include "core/bd_log.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

/* Bytes waiting in the pipe whose read end is <fd>. */
static int
Unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

TEST(Log, AReloadNeverWaitsOnALogThatTakesNoMore)
{
    char dir[] = "/tmp/bd-log-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string next = std::string(dir) + "/error.log";

    int p[2];
    ASSERT_EQ(pipe(p), 0);
    int capacity = fcntl(p[1], F_SETPIPE_SZ, 4096);
    ASSERT_GT(capacity, 0);
    int saved = dup(2);
    ASSERT_EQ(dup2(p[1], 2), 2); /* the "stderr" log is the pipe */
    close(p[1]);

    std::string err;
    ASSERT_EQ(bd_log_configure("stderr", BD_LOG_NOTICE, false, "", &err), 0) << err;
    bd_log_start();
    /* five times what the pipe holds: the writer takes it and is stuck */
    std::string filler(200, 'x');
    int lines = 0;
    while (lines * (int)filler.size() < 5 * capacity) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "old %d %s", lines++, filler.c_str());
    }
    for (int i = 0; i < 100 && Unread(p[0]) < capacity / 2; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); /* the writer at work */
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = 0; i < 20; i++) { /* queued while the writer is stuck */
        bd_log_error(BD_LOG_NOTICE, nullptr, "old %d %s", lines++, filler.c_str());
    }

    std::future<int> reload = std::async(std::launch::async, [&next] {
        std::string e;
        return bd_log_configure(next.c_str(), BD_LOG_NOTICE, false, "", &e);
    });
    bool returned = reload.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    if (returned) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "after the reload");
    }

    /* read the old log again: everything queued for it arrives, in order */
    std::string old;
    char buf[65536];
    std::string last = "old " + std::to_string(lines - 1) + " ";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (old.find(last) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, 100) == 1) {
            ssize_t n = read(p[0], buf, sizeof(buf));
            if (n > 0) {
                old.append(buf, (size_t)n);
            }
        }
    }
    EXPECT_TRUE(returned) << "the reload waited on the full pipe";
    EXPECT_EQ(reload.get(), 0);
    bd_log_stop();
    dup2(saved, 2);
    close(saved);
    close(p[0]);

    size_t at = 0;
    for (int i = 0; i < lines; i++) {
        size_t found = old.find("old " + std::to_string(i) + " ", at);
        ASSERT_NE(found, std::string::npos) << "line " << i << " of " << lines << " is missing";
        at = found;
    }
    EXPECT_EQ(old.find("after the reload"), std::string::npos);
    std::ifstream f(next);
    std::stringstream in;
    in << f.rdbuf();
    EXPECT_NE(in.str().find("after the reload"), std::string::npos) << in.str();
    EXPECT_EQ(in.str().find("old "), std::string::npos);
    std::string cmd = std::string("rm -rf '") + dir + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
}

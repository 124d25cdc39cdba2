/*
 * bd_thread_test.cc: a thread from bd_thread_create has the process signals
 * blocked and its creator keeps its own mask; a process signal sent while other
 * threads run is taken by the thread that handles it (the main thread, here the
 * test's), never by one of them.
 */
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "core/bd_thread.h"

static bool
Blocked(int sig)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, nullptr, &cur);
    return sigismember(&cur, sig) == 1;
}

static void *
RecordMask(void *arg)
{
    bool *blocked = (bool *)arg;
    for (size_t i = 0; i < bd_process_signals_n; i++) {
        blocked[i] = Blocked(bd_process_signals[i]);
    }
    return nullptr;
}

TEST(Thread, ANewThreadHasTheProcessSignalsBlockedAndItsCreatorNot)
{
    bool blocked[16] = {};
    ASSERT_LE(bd_process_signals_n, sizeof(blocked));
    pthread_t t;
    ASSERT_EQ(bd_thread_create(&t, RecordMask, blocked), 0);
    pthread_join(t, nullptr);
    for (size_t i = 0; i < bd_process_signals_n; i++) {
        EXPECT_TRUE(blocked[i]) << "signal " << bd_process_signals[i];
        EXPECT_FALSE(Blocked(bd_process_signals[i])) << "signal " << bd_process_signals[i];
    }
}

static std::atomic<int> taken{0};
static std::atomic<pthread_t> taker;

static void
OnSignal(int)
{
    taken.fetch_add(1);
    taker.store(pthread_self());
}

/* Threads that wait until told to end. A thread the kernel picks for a signal
 * runs its handler on its next return to user space, so before it ends. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool stop_waiting = false;

static void *
Wait(void *)
{
    pthread_mutex_lock(&stop_lock);
    while (!stop_waiting) {
        pthread_cond_wait(&stop_cond, &stop_lock);
    }
    pthread_mutex_unlock(&stop_lock);
    return nullptr;
}

TEST(Thread, AProcessSignalWaitsForTheThreadThatTakesIt)
{
    struct sigaction sa = {}, old = {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    pthread_t ts[4]; /* started with this thread's mask, SIGUSR1 not blocked */
    for (pthread_t &t : ts) {
        ASSERT_EQ(bd_thread_create(&t, Wait, nullptr), 0);
    }
    /* This thread takes SIGUSR1 later; until then only the others could. */
    sigset_t usr1, prev;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &prev);
    kill(getpid(), SIGUSR1);
    pthread_mutex_lock(&stop_lock);
    stop_waiting = true;
    pthread_cond_broadcast(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    for (pthread_t &t : ts) {
        pthread_join(t, nullptr);
    }
    EXPECT_EQ(taken.load(), 0) << "a thread started by bd_thread_create took the signal";
    pthread_sigmask(SIG_SETMASK, &prev, nullptr); /* pending: delivered here, now */
    EXPECT_EQ(taken.load(), 1);
    EXPECT_TRUE(pthread_equal(taker.load(), pthread_self()));
    sigaction(SIGUSR1, &old, nullptr);
}

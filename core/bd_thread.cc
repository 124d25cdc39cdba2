/*
 * bd_thread.cc: see bd_thread.h.
 */
#include "core/bd_thread.h"

#include <signal.h>

const int bd_process_signals[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1};
const size_t bd_process_signals_n = sizeof(bd_process_signals) / sizeof(bd_process_signals[0]);

void
bd_process_signal_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < bd_process_signals_n; i++) {
        sigaddset(set, bd_process_signals[i]);
    }
}

int
bd_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    /* A new thread inherits its creator's mask: block around the creation, then
     * give the creator its own mask back. */
    sigset_t block, old;
    bd_process_signal_set(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(thread, nullptr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return rc;
}

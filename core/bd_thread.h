/*
 * bd_thread.h: starting bedrockd's threads. The process signals (reload, stop,
 * quit, reopen the logs) are blocked in every thread and read by the main loop
 * from a signalfd (bd_process.cc): every thread bedrockd starts must start with
 * them blocked, since with no handler installed a thread that took a SIGHUP would
 * end the process. Threads those threads start (libcurl's resolver) inherit the
 * mask.
 */
#ifndef BD_THREAD_H
#define BD_THREAD_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

/* The signals the main thread's loop handles, and them as a set. */
extern const int bd_process_signals[];
extern const size_t bd_process_signals_n;
void bd_process_signal_set(sigset_t *set);

/* pthread_create, the new thread with bd_process_signals blocked. Returns
 * pthread_create's result. Any thread. */
int bd_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif

/*
 * bd_thread.h: starting bedrockd's threads. The main thread handles the process
 * signals in its event loop (reload, stop, quit, reopen the logs); every other
 * thread starts with them blocked, so the kernel delivers them to the main thread
 * alone, as Redis's background threads block SIGALRM. A signal taken by another
 * thread still reached the loop through libevent's socket pair, but in that
 * thread's context: under ThreadSanitizer, which runs a handler only when its
 * thread next enters an intercepted call, a SIGHUP once waited there for more
 * than ten seconds.
 */
#ifndef BD_THREAD_H
#define BD_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* The signals the main thread's loop handles. */
extern const int bd_process_signals[];
extern const size_t bd_process_signals_n;

/* pthread_create, the new thread with bd_process_signals blocked. Returns
 * pthread_create's result. Any thread. */
int bd_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif

/*
 * bd_store_thread.h: starting and stopping the store thread (the store module's
 * init_process and exit_process, on the main thread).
 */
#ifndef BD_STORE_THREAD_H
#define BD_STORE_THREAD_H

#include <stdint.h>

#include <string>

#include "modules/store/bd_store_module.h"

/* Opens <path>, loads and publishes the keys, and starts the thread. Returns the
 * store, or null with <err> set. Main thread. */
bd_store_t *bd_store_start(const char *path, int64_t flush_interval_ms, std::string *err);

/* Stops the thread after it has written every queued record, closes the file and
 * frees <s>. Main thread, after the workers have joined (nothing posts any more). */
void bd_store_stop(bd_store_t *s);

#endif

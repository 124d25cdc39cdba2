/*
 * bd_store_check.h: checks of a store path at conf load, before anything is
 * opened for writing (see bd_store_check.cc). Main thread.
 */
#ifndef BD_STORE_CHECK_H
#define BD_STORE_CHECK_H

#include <string>

/* Null when a store can live at <path>; else why not, in <errbuf>. */
const char *bd_store_check_path(const std::string &path, std::string *errbuf);

/* Keys in the store at <path> a client could use now: 0 for no file, -1 when it
 * cannot be read (unknown). */
int bd_store_count_usable_keys(const std::string &path);

#endif

/*
 * bd_json_tree.h: a client's JSON body read into a jansson tree through the scanner
 * of bd_json_scan.h instead of jansson's own reader, which goes a byte at a time
 * through a stream and a string buffer (about 140 instructions per byte; a 170-byte
 * request body cost 24,000, and a coding agent's 200 KB body millions). The scan
 * validates the text; the tree is then built in one trusting pass. Pure; any thread.
 */
#ifndef BD_JSON_TREE_H
#define BD_JSON_TREE_H

#include <jansson.h>
#include <stddef.h>

/* The tree of <p, n> when it is one well-formed object or array, as json_loadb with
 * no flags would read it (same values, same key order, the last of duplicate keys).
 * Null for anything else, and for what the scan accepts but jansson refuses (an
 * integer beyond 64 bits, a real beyond a double): then ask json_loadb, for jansson's
 * verdict and error message. */
json_t *bd_json_tree_load(const char *p, size_t n);

#endif

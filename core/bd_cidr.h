/*
 * bd_cidr.h: address ranges ("10.0.0.0/8", "::1", "fd00::/8") and matching a
 * textual client address against a list of them. Pure; any thread.
 */
#ifndef BD_CIDR_H
#define BD_CIDR_H

#include <stdint.h>

#include <vector>

struct bd_cidr_t {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network byte order; 4 bytes used for AF_INET */
    int prefix;       /* bits */
};

/* Parses "10.0.0.0/8", "::1", "fd00::/8" (no prefix: one address). 0, or -1 for
 * a malformed range or a prefix longer than the address. */
int bd_cidr_parse(const char *text, bd_cidr_t *out);

/* Whether the textual address <addr> ("127.0.0.1", "::1", "::ffff:10.1.2.3" as
 * IPv4) falls in one of <list>. An unparsable address matches nothing. */
bool bd_cidr_match(const std::vector<bd_cidr_t> &list, const char *addr);

#endif

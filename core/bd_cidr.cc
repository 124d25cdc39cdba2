/*
 * bd_cidr.cc: address ranges (metrics_allow, trusted_proxies), parsed at conf
 * load and matched against client addresses. Pure; any thread.
 * IPv4-mapped IPv6 clients (::ffff:a.b.c.d, from a dual-stack listener) match
 * as the IPv4 address they carry.
 */
#include "core/bd_cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

/* Parses one address into <family>/<addr>; 0 or -1. */
static int
bd_cidr_addr_parse(const char *text, int *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = AF_INET;
            return 0;
        }
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

int
bd_cidr_parse(const char *text, bd_cidr_t *out)
{
    std::string addr(text);
    int prefix = -1;
    size_t slash = addr.find('/');
    if (slash != std::string::npos) {
        const char *p = addr.c_str() + slash + 1;
        char *end = nullptr;
        long n = strtol(p, &end, 10);
        if (*p < '0' || *p > '9' || *end != '\0' || n < 0 || n > 128) {
            return -1;
        }
        prefix = (int)n;
        addr.resize(slash);
    }
    /* A mapped address written in a range keeps its IPv6 family: parse plainly. */
    memset(out->addr, 0, sizeof(out->addr));
    if (inet_pton(AF_INET, addr.c_str(), out->addr) == 1) {
        out->family = AF_INET;
    } else if (inet_pton(AF_INET6, addr.c_str(), out->addr) == 1) {
        out->family = AF_INET6;
    } else {
        return -1;
    }
    int bits = out->family == AF_INET ? 32 : 128;
    if (prefix > bits) {
        return -1;
    }
    out->prefix = prefix < 0 ? bits : prefix;
    return 0;
}

static bool
bd_cidr_prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8;
    if (memcmp(a, b, (size_t)bytes) != 0) {
        return false;
    }
    int rest = bits % 8;
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
bd_cidr_match(const std::vector<bd_cidr_t> &list, const char *addr)
{
    int family;
    uint8_t bytes[16];
    if (bd_cidr_addr_parse(addr, &family, bytes) != 0) {
        return false;
    }
    for (const bd_cidr_t &range : list) {
        if (range.family == family && bd_cidr_prefix_equal(bytes, range.addr, range.prefix)) {
            return true;
        }
    }
    return false;
}

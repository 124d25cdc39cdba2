/*
 * bd_fetch_util.cc: the pure parts of URL fetching: which peer addresses are public,
 * which schemes are fetched, the media type of a body, base64. No state; any thread.
 * An address that cannot be parsed is never public, so a mistake refuses a fetch
 * rather than allowing one.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "modules/fetch/bd_fetch.h"

/* <a> (host order) is in <net>/<bits>. */
static bool
bd_fetch_in4(uint32_t a, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (a & mask) == (net & mask);
}

static bool
bd_fetch_v4_public(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } blocked[] = {
        {0x00000000u, 8},  /* 0.0.0.0/8 "this network" */
        {0x0a000000u, 8},  /* 10/8 private */
        {0x64400000u, 10}, /* 100.64/10 carrier-grade NAT */
        {0x7f000000u, 8},  /* 127/8 loopback */
        {0xa9fe0000u, 16}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000u, 12}, /* 172.16/12 private */
        {0xc0000000u, 24}, /* 192.0.0/24 protocol assignments */
        {0xc0000200u, 24}, /* 192.0.2/24 documentation */
        {0xc0a80000u, 16}, /* 192.168/16 private */
        {0xc6120000u, 15}, /* 198.18/15 benchmarking */
        {0xc6336400u, 24}, /* 198.51.100/24 documentation */
        {0xcb007100u, 24}, /* 203.0.113/24 documentation */
        {0xe0000000u, 4},  /* 224/4 multicast */
        {0xf0000000u, 4},  /* 240/4 reserved, broadcast */
    };
    for (const auto &b : blocked) {
        if (bd_fetch_in4(a, b.net, b.bits)) {
            return false;
        }
    }
    return true;
}

static uint32_t
bd_fetch_v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool
bd_fetch_v6_public(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char zero[12] = {0};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
        return bd_fetch_v4_public(bd_fetch_v4_at(a + 12));
    }
    if (memcmp(a, zero, 12) == 0) {
        return false; /* ::, ::1 and the old IPv4-compatible form */
    }
    if ((a[0] & 0xfe) == 0xfc) {
        return false; /* fc00::/7 unique local (fd00:ec2::254 is EC2's metadata) */
    }
    if (a[0] == 0xfe && (a[1] & 0x80) == 0x80) {
        return false; /* fe80::/10 link-local, fec0::/10 old site-local */
    }
    if (a[0] == 0xff) {
        return false; /* multicast */
    }
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) {
        return false; /* 2001:db8::/32 documentation */
    }
    return true;
}

bool
bd_fetch_ip_is_public(const char *ip)
{
    unsigned char buf[16];

    if (ip == nullptr) {
        return false;
    }
    if (inet_pton(AF_INET, ip, buf) == 1) {
        return bd_fetch_v4_public(bd_fetch_v4_at(buf));
    }
    /* curl may report a scoped link-local address as fe80::1%eth0 */
    std::string s(ip);
    size_t pct = s.find('%');
    if (pct != std::string::npos) {
        s.resize(pct);
    }
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        return bd_fetch_v6_public(buf);
    }
    return false;
}

bool
bd_fetch_scheme_ok(const char *url)
{
    return url != nullptr &&
           (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

/* The type the first bytes announce, or null. */
static const char *
bd_fetch_sniff(const char *body, size_t len)
{
    const unsigned char *p = (const unsigned char *)body;

    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        return "image/png";
    }
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
        return "image/jpeg";
    }
    if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) {
        return "image/gif";
    }
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
        return "image/webp";
    }
    if (len >= 5 && memcmp(p, "%PDF-", 5) == 0) {
        return "application/pdf";
    }
    return nullptr;
}

std::string
bd_fetch_media_type(const char *content_type, const char *body, size_t len)
{
    std::string t;

    for (const char *p = content_type ? content_type : ""; *p && *p != ';'; p++) {
        if (!isspace((unsigned char)*p)) {
            t += (char)tolower((unsigned char)*p);
        }
    }
    if (t == "image/jpg" || t == "image/pjpeg") {
        t = "image/jpeg";
    }
    if (t.empty() || t == "application/octet-stream" || t == "binary/octet-stream") {
        const char *sniffed = bd_fetch_sniff(body, len);
        if (sniffed != nullptr) {
            t = sniffed;
        }
    }
    return t;
}

void
bd_fetch_base64(const char *p, size_t len, std::string *out)
{
    out->assign(4 * ((len + 2) / 3) + 1, '\0');
    /* EVP_EncodeBlock takes an int length: encode in slices that are a multiple of 3. */
    static const size_t slice = 3u << 20;
    size_t w = 0;
    for (size_t off = 0; off < len; off += slice) {
        size_t n = len - off < slice ? len - off : slice;
        w += (size_t)EVP_EncodeBlock((unsigned char *)&(*out)[w], (const unsigned char *)p + off,
                                     (int)n);
    }
    out->resize(w);
}

/*
 * bd_sigv4.h: AWS Signature Version 4 for the services bedrockd calls
 * (bedrock-runtime and bedrock: service "bedrock"; dynamodb; sts).
 * Pure functions over OpenSSL; safe on any thread; no allocation survives a call
 * except what is returned in caller-owned buffers.
 */
#ifndef BD_SIGV4_H
#define BD_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <string>
#include <vector>

struct bd_sigv4_header_t {
    std::string name;  /* any case; lowercased when signed */
    std::string value; /* trimmed and space-collapsed when signed */
};

struct bd_sigv4_query_param_t {
    std::string name;  /* raw (not yet encoded) */
    std::string value; /* raw (not yet encoded) */
};

struct bd_sigv4_credentials_t {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token; /* empty when none */
};

struct bd_sigv4_request_t {
    const char *method;  /* "GET", "POST" */
    const char *host;    /* host[:port] exactly as sent in the Host header */
    const char *path;    /* wire path, already URI-encoded once (bd_sigv4_uri_encode per label) */
    std::vector<bd_sigv4_query_param_t> query;
    std::vector<bd_sigv4_header_t> headers; /* headers to sign besides host/x-amz-* */
    const void *body;
    size_t body_len;
    /* instead of <body>, when set: the body as pieces, in order (hashed, not joined) */
    const struct iovec *body_iov = nullptr;
    size_t body_iovcnt = 0;
    const char *region;  /* "us-east-1" */
    const char *service; /* "bedrock", "dynamodb", "sts" */
    int64_t time_s;      /* seconds since the epoch, UTC */
    bool add_content_sha256; /* also send and sign x-amz-content-sha256 */
};

/* Result: the headers to add to the outgoing request (x-amz-date, optional
 * x-amz-security-token and x-amz-content-sha256, and authorization), the encoded
 * query string to put on the wire, and the intermediate values for tests. */
struct bd_sigv4_result_t {
    std::vector<bd_sigv4_header_t> add_headers;
    std::string query_string;      /* canonical and wire form, without '?' */
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;
    std::string signature;         /* lowercase hex */
    std::string authorization;     /* full Authorization header value */
};

/* UriEncode as AWS defines it: keep A-Z a-z 0-9 - _ . ~, %XX (uppercase) the rest.
 * <keep_slash> keeps '/' (used for the canonical URI). */
std::string bd_sigv4_uri_encode(const char *s, size_t len, bool keep_slash);

/* The canonical URI of a wire path for every service but S3: each segment encoded again. */
std::string bd_sigv4_canonical_uri(const char *wire_path);

/* Lowercase hex SHA-256 of <data>. */
std::string bd_sigv4_sha256_hex(const void *data, size_t len);

/* Signs <req> with <creds>; fills <out>. Returns 0, or -1 on a bad input. */
int bd_sigv4_sign(const bd_sigv4_request_t *req, const bd_sigv4_credentials_t *creds,
                  bd_sigv4_result_t *out);

/* The derived signing key (32 raw bytes) for tests and caching. */
void bd_sigv4_signing_key(const char *secret, const char *datestamp, const char *region,
                          const char *service, unsigned char out[32]);

/* "YYYYMMDD'T'HHMMSS'Z'" for <time_s>. */
std::string bd_sigv4_amz_date(int64_t time_s);

/* Parses an incoming Authorization header of the AWS4-HMAC-SHA256 form (used by the
 * emulator to verify requests). Returns 0 and fills the parts, or -1. */
struct bd_sigv4_auth_parts_t {
    std::string access_key_id;
    std::string datestamp;
    std::string region;
    std::string service;
    std::vector<std::string> signed_headers; /* lowercase, in the order given */
    std::string signature;
};
int bd_sigv4_parse_authorization(const char *value, bd_sigv4_auth_parts_t *out);

#endif

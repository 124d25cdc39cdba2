/*
 * bd_digest.h: SHA-256 and HMAC-SHA256 with the algorithms fetched once per thread.
 * OpenSSL 3's one-shot SHA256(), EVP_Digest(EVP_sha256()) and HMAC() fetch the
 * algorithm from the provider store on every call (a locked lookup); a request signs
 * and hashes several times, so each thread fetches once and keeps its contexts.
 * Callable on any thread; nothing is shared between threads.
 */
#ifndef BD_DIGEST_H
#define BD_DIGEST_H

#include <stddef.h>
#include <sys/uio.h>

#define BD_SHA256_LEN 32

/* out = SHA-256(data). */
void bd_sha256(const void *data, size_t len, unsigned char out[BD_SHA256_LEN]);

/* SHA-256 of the concatenation of <n> pieces (a body that is never one block). */
void bd_sha256_iov(const struct iovec *iov, size_t n, unsigned char out[BD_SHA256_LEN]);

/* out = HMAC-SHA256(key, data). */
void bd_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[BD_SHA256_LEN]);

#endif

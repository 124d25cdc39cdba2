/*
 * bd_digest.cc: per-thread SHA-256 and HMAC-SHA256 (see bd_digest.h for why).
 * The thread's algorithms and contexts are made on its first call and freed when the
 * thread ends; a failure to make them falls back to OpenSSL's one-shot calls, which
 * compute the same digests.
 */
#include "bd_digest.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

namespace {

struct bd_digest_thread_t {
    bool tried = false;
    EVP_MD *sha256 = nullptr;
    EVP_MD_CTX *md = nullptr;
    EVP_MAC *hmac = nullptr;
    EVP_MAC_CTX *mac = nullptr; /* its digest set once; each call sets only the key */
    /* The key <mac> holds: a request signs with the same derived key as the one before,
     * and re-initialising with a null key reuses its prepared pads instead of hashing
     * the key again. */
    unsigned char key[64];
    size_t key_len = 0;
    bool keyed = false;

    ~bd_digest_thread_t()
    {
        EVP_MAC_CTX_free(mac);
        EVP_MAC_free(hmac);
        EVP_MD_CTX_free(md);
        EVP_MD_free(sha256);
    }
};

thread_local bd_digest_thread_t bd_digest_thread;

bd_digest_thread_t *
bd_digest_get(void)
{
    bd_digest_thread_t *t = &bd_digest_thread;
    if (t->tried) {
        return t->mac != nullptr ? t : nullptr;
    }
    t->tried = true;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    t->sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    t->md = EVP_MD_CTX_new();
    t->hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    t->mac = t->hmac != nullptr ? EVP_MAC_CTX_new(t->hmac) : nullptr;
    if (t->sha256 == nullptr || t->md == nullptr || t->mac == nullptr
        || EVP_MAC_CTX_set_params(t->mac, params) != 1) {
        EVP_MAC_CTX_free(t->mac);
        t->mac = nullptr;
        return nullptr;
    }
    return t;
}

} // namespace

void
bd_sha256(const void *data, size_t len, unsigned char out[BD_SHA256_LEN])
{
    struct iovec whole = {const_cast<void *>(data), len};
    bd_sha256_iov(&whole, 1, out);
}

void
bd_sha256_iov(const struct iovec *iov, size_t n, unsigned char out[BD_SHA256_LEN])
{
    bd_digest_thread_t *t = bd_digest_get();
    EVP_MD_CTX *own = t == nullptr ? EVP_MD_CTX_new() : nullptr;
    EVP_MD_CTX *md = t != nullptr ? t->md : own;
    unsigned int len = BD_SHA256_LEN;
    bool ok = md != nullptr
              && EVP_DigestInit_ex(md, t != nullptr ? t->sha256 : EVP_sha256(), nullptr) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = EVP_DigestUpdate(md, iov[i].iov_base, iov[i].iov_len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1;
    EVP_MD_CTX_free(own);
    if (!ok) {
        memset(out, 0, BD_SHA256_LEN); /* a signature Bedrock refuses, never a wrong body */
    }
}

void
bd_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
               unsigned char out[BD_SHA256_LEN])
{
    bd_digest_thread_t *t = bd_digest_get();
    size_t n = 0;

    bool same = t != nullptr && t->keyed && key_len == t->key_len && memcmp(key, t->key, key_len) == 0;
    if (t != nullptr && !same) {
        t->keyed = key_len <= sizeof(t->key);
        if (t->keyed) {
            memcpy(t->key, key, key_len);
            t->key_len = key_len;
        }
    }
    if (t == nullptr
        || EVP_MAC_init(t->mac, same ? nullptr : (const unsigned char *)key, same ? 0 : key_len,
                        nullptr) != 1
        || EVP_MAC_update(t->mac, (const unsigned char *)data, len) != 1
        || EVP_MAC_final(t->mac, out, &n, BD_SHA256_LEN) != 1) {
        if (t != nullptr) {
            t->keyed = false;
        }
        unsigned int m = BD_SHA256_LEN;
        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, len, out, &m);
    }
}

/*
 * bd_curl_test_tls.cc: upstream TLS is verified: a server whose self-signed certificate is
 * not trusted is refused, and the same server is accepted once the client's CA file names it.
 * The certificate (CN and SAN IP 127.0.0.1) is made here, in a temporary directory.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "bd_curl_test_server.h"
#include "core/bd_curl.h"

namespace
{

/* Writes a self-signed certificate for 127.0.0.1 and its key as PEM files. */
bool
make_cert(const std::string &cert_path, const std::string &key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *crt = X509_new();
    X509_NAME *name;
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    FILE *f;
    bool ok = key != nullptr && crt != nullptr;

    if (ok) {
        X509_set_version(crt, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
        X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
        X509_gmtime_adj(X509_getm_notAfter(crt), 86400);
        X509_set_pubkey(crt, key);
        name = X509_get_subject_name(crt);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1,
                                   -1, 0);
        X509_set_issuer_name(crt, name);
        X509V3_set_ctx(&v3, crt, crt, nullptr, nullptr, 0);
        ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1");
        ok = ext != nullptr && X509_add_ext(crt, ext, -1) == 1;
        X509_EXTENSION_free(ext);
        ok = ok && X509_sign(crt, key, EVP_sha256()) > 0;
    }
    if (ok && (f = fopen(cert_path.c_str(), "w")) != nullptr) {
        ok = PEM_write_X509(f, crt) == 1;
        fclose(f);
    }
    if (ok && (f = fopen(key_path.c_str(), "w")) != nullptr) {
        ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        fclose(f);
    }
    X509_free(crt);
    EVP_PKEY_free(key);
    return ok;
}

struct tls_rec_t {
    bool done = false;
    bd_curl_result_e code = BD_CURL_ERROR;
    int curl_code = -1;
    long status = 0;
    std::string message, body;
};

int
tls_on_data(bd_curl_xfer_t *x, const char *p, size_t len)
{
    ((tls_rec_t *)bd_curl_xfer_data(x))->body.append(p, len);
    return BD_CURL_CONTINUE;
}

void
tls_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *res)
{
    tls_rec_t *r = (tls_rec_t *)bd_curl_xfer_data(x);

    r->done = true;
    r->code = res->code;
    r->curl_code = res->curl_code;
    r->status = res->http_status;
    r->message = res->message;
}

void
on_expire(evutil_socket_t, short, void *arg) noexcept
{
    *(bool *)arg = true;
}

struct CurlTlsTest : public ::testing::Test {
    char dir[64] = "/tmp/bd_curl_tls.XXXXXX";
    std::string cert, key;
    test_server_t *srv = nullptr;
    struct event_base *base = nullptr;

    static void
    SetUpTestSuite()
    {
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);
    }

    static void
    TearDownTestSuite()
    {
        curl_global_cleanup();
    }

    void
    SetUp() override
    {
        ASSERT_NE(mkdtemp(dir), nullptr);
        cert = std::string(dir) + "/cert.pem";
        key = std::string(dir) + "/key.pem";
        ASSERT_TRUE(make_cert(cert, key));
        srv = test_server_start_tls(cert.c_str(), key.c_str());
        base = event_base_new();
    }

    void
    TearDown() override
    {
        test_server_stop(srv);
        event_base_free(base);
        unlink(cert.c_str());
        unlink(key.c_str());
        rmdir(dir);
    }

    /* One GET /json over TLS with a client built from <opts>; waits for on_done. */
    tls_rec_t
    fetch(const bd_curl_options_t *opts)
    {
        tls_rec_t r;
        bd_curl_t *c = bd_curl_create(base, opts);
        bd_curl_handlers_t h = {nullptr, tls_on_data, tls_on_done};
        std::string url = "https://127.0.0.1:" + std::to_string(test_server_port(srv)) + "/json";
        bd_curl_request_t req = {};
        struct timeval limit = {10, 0};
        bool expired = false;
        struct event *ev = evtimer_new(base, on_expire, &expired);

        req.url = url.c_str();
        EXPECT_NE(bd_curl_xfer_start(c, &req, &h, &r), nullptr);
        evtimer_add(ev, &limit);
        while (!r.done && !expired) {
            event_base_loop(base, EVLOOP_ONCE);
        }
        event_free(ev);
        bd_curl_destroy(c);
        return r;
    }
};

TEST_F(CurlTlsTest, UntrustedCertificateIsRefused)
{
    tls_rec_t r = fetch(nullptr);

    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.code, BD_CURL_ERROR) << r.message;
    EXPECT_EQ(r.curl_code, (int)CURLE_PEER_FAILED_VERIFICATION) << r.message;
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.body, "");
}

TEST_F(CurlTlsTest, CaFileMakesCertificateTrusted)
{
    bd_curl_options_t opts = {};

    opts.ca_file = cert.c_str();
    tls_rec_t r = fetch(&opts);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.code, BD_CURL_OK) << r.message;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"ok\":true}");
}

} // namespace

/*
 * bd_digest_test.cc: the per-thread SHA-256 and HMAC-SHA256 against the published
 * vectors (FIPS 180-2, RFC 4231), repeated calls with other keys in between, the
 * same key again (its prepared context reused), and several threads at once (each
 * with its own contexts).
 */
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/aws/bd_digest.h"

namespace {

std::string
hex(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::string
sha256(const std::string &data)
{
    unsigned char md[BD_SHA256_LEN];
    bd_sha256(data.data(), data.size(), md);
    return hex(md, sizeof(md));
}

std::string
hmac(const std::string &key, const std::string &data)
{
    unsigned char md[BD_SHA256_LEN];
    bd_hmac_sha256(key.data(), key.size(), data.data(), data.size(), md);
    return hex(md, sizeof(md));
}

const char *const SHA_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const char *const SHA_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
/* RFC 4231 test case 2 */
const char *const HMAC_JEFE = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
/* RFC 4231 test case 6: a key longer than the block, hashed first */
const char *const HMAC_LONG_KEY =
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";

} // namespace

TEST(Digest, Sha256Vectors)
{
    EXPECT_EQ(sha256(""), SHA_EMPTY);
    EXPECT_EQ(sha256("abc"), SHA_ABC);
    EXPECT_EQ(sha256(""), SHA_EMPTY); /* the reused context starts afresh */
}

TEST(Digest, HmacVectorsWithOtherKeysInBetween)
{
    EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"), HMAC_JEFE);
    EXPECT_EQ(hmac(std::string(131, '\xaa'),
                   "Test Using Larger Than Block-Size Key - Hash Key First"),
              HMAC_LONG_KEY);
    EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"), HMAC_JEFE);
    EXPECT_EQ(sha256("abc"), SHA_ABC); /* the two contexts do not share state */
}

TEST(Digest, HmacWithTheSameKeyAgainReusesItAndStaysRight)
{
    /* A repeated key re-initialises the prepared context; a key that differs in one
     * byte or in length is set afresh; the 131-byte key is longer than the kept copy. */
    std::string key(32, 'k'), other = key;
    other[31] = 'K';
    std::string a = hmac(key, "one"), b = hmac(key, "two");
    EXPECT_NE(a, b);
    EXPECT_EQ(hmac(key, "one"), a);
    EXPECT_NE(hmac(other, "one"), a);
    EXPECT_NE(hmac(key.substr(0, 31), "one"), a);
    EXPECT_EQ(hmac(key, "two"), b);
    std::string big(131, '\xaa');
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    EXPECT_EQ(hmac(big, msg), HMAC_LONG_KEY);
    EXPECT_EQ(hmac(big, msg), HMAC_LONG_KEY);
    EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"), HMAC_JEFE);
    EXPECT_EQ(hmac("Jefe", "what do ya want for nothing?"), HMAC_JEFE);
    EXPECT_EQ(hmac(key, "one"), a);
}

TEST(Digest, ThreadsEachGetTheSameAnswers)
{
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([t, &wrong] {
            for (int i = 0; i < 500; i++) {
                wrong[t] += sha256("abc") != SHA_ABC;
                wrong[t] += hmac("Jefe", "what do ya want for nothing?") != HMAC_JEFE;
            }
        });
    }
    for (std::thread &th : threads) {
        th.join();
    }
    for (int t = 0; t < 4; t++) {
        EXPECT_EQ(wrong[t], 0) << "thread " << t;
    }
}

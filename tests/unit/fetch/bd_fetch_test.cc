/*
 * bd_fetch_test.cc: which peer addresses a URL fetch may connect to, the media type
 * read from Content-Type or the first bytes, the scheme check and base64.
 */
#include <gtest/gtest.h>

#include <string>

#include "modules/fetch/bd_fetch.h"

TEST(FetchAddress, PublicAddressesAreAllowed)
{
    for (const char *ip : {"8.8.8.8", "1.1.1.1", "52.94.236.248", "100.63.255.255",
                           "100.128.0.1", "172.15.255.255", "172.32.0.1", "192.167.1.1",
                           "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
                           "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
        EXPECT_TRUE(bd_fetch_ip_is_public(ip)) << ip;
    }
}

TEST(FetchAddress, LocalAndPrivateAddressesAreRefused)
{
    for (const char *ip :
         {"127.0.0.1", "127.1.2.3", "0.0.0.0", "10.0.0.1", "10.255.255.255", "172.16.0.1",
          "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255",
          "192.0.0.8", "198.18.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
          "255.255.255.255", "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1",
          "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
          "::ffff:10.1.2.3", "64:ff9b::7f00:1", "::127.0.0.1", "2001:db8::1"}) {
        EXPECT_FALSE(bd_fetch_ip_is_public(ip)) << ip;
    }
}

TEST(FetchAddress, TextThatIsNotAnAddressIsRefused)
{
    for (const char *ip : {"", "localhost", "example.com", "127.0.0.1.5", "1.2.3", "::g"}) {
        EXPECT_FALSE(bd_fetch_ip_is_public(ip)) << ip;
    }
    EXPECT_FALSE(bd_fetch_ip_is_public(nullptr));
}

TEST(FetchScheme, OnlyHttpAndHttps)
{
    EXPECT_TRUE(bd_fetch_scheme_ok("http://example.com/a.png"));
    EXPECT_TRUE(bd_fetch_scheme_ok("HTTPS://example.com/a.png"));
    for (const char *u : {"ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/",
                          "data:image/png;base64,AAAA", "example.com/a.png", "httpx://a", ""}) {
        EXPECT_FALSE(bd_fetch_scheme_ok(u)) << u;
    }
    EXPECT_FALSE(bd_fetch_scheme_ok(nullptr));
}

TEST(FetchMediaType, FromContentType)
{
    EXPECT_EQ(bd_fetch_media_type("image/png", "", 0), "image/png");
    EXPECT_EQ(bd_fetch_media_type("Image/PNG; charset=binary", "", 0), "image/png");
    EXPECT_EQ(bd_fetch_media_type("image/jpg", "", 0), "image/jpeg");
    EXPECT_EQ(bd_fetch_media_type("text/plain; charset=utf-8", "", 0), "text/plain");
    EXPECT_EQ(bd_fetch_media_type(" application/pdf ", "", 0), "application/pdf");
    /* a declared type wins over the bytes: the caller refuses what does not fit */
    EXPECT_EQ(bd_fetch_media_type("text/html", "\x89PNG\r\n\x1a\n", 8), "text/html");
}

TEST(FetchMediaType, SniffedWhenAbsentOrOpaque)
{
    const char png[] = "\x89PNG\r\n\x1a\n....";
    const char jpeg[] = "\xff\xd8\xff\xe0..";
    const char webp[] = "RIFF\x10\x00\x00\x00WEBPVP8 ";
    EXPECT_EQ(bd_fetch_media_type(nullptr, png, sizeof(png) - 1), "image/png");
    EXPECT_EQ(bd_fetch_media_type("", jpeg, sizeof(jpeg) - 1), "image/jpeg");
    EXPECT_EQ(bd_fetch_media_type("application/octet-stream", "GIF89a...", 9), "image/gif");
    EXPECT_EQ(bd_fetch_media_type("binary/octet-stream", webp, sizeof(webp) - 1), "image/webp");
    EXPECT_EQ(bd_fetch_media_type(nullptr, "%PDF-1.7\n", 9), "application/pdf");
    EXPECT_EQ(bd_fetch_media_type(nullptr, "hello", 5), "");
    EXPECT_EQ(bd_fetch_media_type("application/octet-stream", "hello", 5),
              "application/octet-stream");
    EXPECT_EQ(bd_fetch_media_type(nullptr, "\x89PN", 3), ""); /* too short to tell */
}

TEST(FetchBase64, StandardAlphabetWithPadding)
{
    std::string out = "stale";
    bd_fetch_base64("", 0, &out);
    EXPECT_EQ(out, "");
    bd_fetch_base64("f", 1, &out);
    EXPECT_EQ(out, "Zg==");
    bd_fetch_base64("fo", 2, &out);
    EXPECT_EQ(out, "Zm8=");
    bd_fetch_base64("foobar", 6, &out);
    EXPECT_EQ(out, "Zm9vYmFy");
    bd_fetch_base64("\xff\xfe\xfd", 3, &out);
    EXPECT_EQ(out, "//79");
}

TEST(FetchBase64, LargeInputAcrossSlices)
{
    /* more than one 3 MiB slice, and not a multiple of 3 */
    std::string in((3u << 20) + 4, '\0');
    for (size_t i = 0; i < in.size(); i++) {
        in[i] = (char)(i * 7);
    }
    std::string out;
    bd_fetch_base64(in.data(), in.size(), &out);
    ASSERT_EQ(out.size(), 4 * ((in.size() + 2) / 3));
    std::string tail;
    bd_fetch_base64(in.data() + (3u << 20), 4, &tail);
    EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
    std::string head;
    bd_fetch_base64(in.data(), 3, &head);
    EXPECT_EQ(out.substr(0, 4), head);
}

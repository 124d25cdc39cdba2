/*
 * bd_realip_test.cc: which address is the client, given the peer, the trusted
 * proxies and X-Forwarded-For (nginx's real_ip with real_ip_recursive on).
 */
#include <gtest/gtest.h>

#include "core/bd_realip.h"

static std::vector<bd_cidr_t>
Ranges(std::initializer_list<const char *> texts)
{
    std::vector<bd_cidr_t> out;
    for (const char *t : texts) {
        bd_cidr_t r;
        EXPECT_EQ(bd_cidr_parse(t, &r), 0) << t;
        out.push_back(r);
    }
    return out;
}

TEST(RealIp, NoTrustedProxiesIgnoresTheHeader)
{
    EXPECT_EQ(bd_realip_resolve({}, "10.0.0.5", "203.0.113.9"), "10.0.0.5");
}

TEST(RealIp, AnUntrustedPeerIsTheClient)
{
    auto trusted = Ranges({"10.0.0.0/16"});
    EXPECT_EQ(bd_realip_resolve(trusted, "198.51.100.7", "203.0.113.9"), "198.51.100.7");
}

TEST(RealIp, WalksFromTheRightPastTrustedHops)
{
    auto trusted = Ranges({"10.0.0.0/16", "::1"});
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "203.0.113.9"), "203.0.113.9");
    /* The leftmost entry is the client's own claim; the rightmost untrusted wins. */
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "1.2.3.4, 203.0.113.9"), "203.0.113.9");
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "203.0.113.9,10.0.2.2 , 10.0.3.3"),
              "203.0.113.9");
    EXPECT_EQ(bd_realip_resolve(trusted, "::1", "2001:db8::1"), "2001:db8::1");
}

TEST(RealIp, EveryHopTrustedGivesTheLeftmost)
{
    auto trusted = Ranges({"10.0.0.0/16"});
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "10.0.9.9, 10.0.2.2"), "10.0.9.9");
}

TEST(RealIp, EmptyOrGarbageKeepsTheLastVouchedAddress)
{
    auto trusted = Ranges({"10.0.0.0/16"});
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", ""), "10.0.1.1");
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", " , ,"), "10.0.1.1");
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "evil"), "10.0.1.1");
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "203.0.113.9, evil, 10.0.2.2"), "10.0.2.2");
    EXPECT_EQ(bd_realip_resolve(trusted, "10.0.1.1", "203.0.113.9:443"), "10.0.1.1");
}

TEST(RealIp, MappedPeerMatchesItsIpv4Range)
{
    auto trusted = Ranges({"10.0.0.0/16"});
    EXPECT_EQ(bd_realip_resolve(trusted, "::ffff:10.0.1.1", "203.0.113.9"), "203.0.113.9");
}

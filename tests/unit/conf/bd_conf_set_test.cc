/*
 * bd_conf_set_test.cc: the value parsers (sizes, durations, flags) with their
 * edges and overflows, and the generic setters called directly.
 */
#include <gtest/gtest.h>
#include <stddef.h>

#include "tests/unit/conf/bd_conf_test_util.h"

TEST(ConfSize, Valid)
{
    static const struct {
        const char *s;
        uint64_t bytes;
    } cases[] = {
        {"0", 0},
        {"512", 512},
        {"512k", 512 * 1024},
        {"512K", 512 * 1024},
        {"32m", 32ull << 20},
        {"32M", 32ull << 20},
        {"1g", 1ull << 30},
        {"4G", 4ull << 30},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183g", 17179869183ull << 30},
    };
    for (const auto &c : cases) {
        uint64_t v = 12345;
        EXPECT_EQ(0, bd_conf_parse_size(c.s, &v)) << c.s;
        EXPECT_EQ(c.bytes, v) << c.s;
    }
}

TEST(ConfSize, Invalid)
{
    static const char *const cases[] = {
        "", "k", "-1", "+1", " 1", "1 ", "1kb", "1t", "1.5m", "0x10", "1k1",
        "18446744073709551616",  /* 2^64 */
        "17179869184g",          /* 2^64 bytes */
        "18014398509481984k",    /* 2^64 bytes */
        "99999999999999999999999",
    };
    for (const char *s : cases) {
        uint64_t v = 7;
        EXPECT_EQ(-1, bd_conf_parse_size(s, &v)) << s;
        EXPECT_EQ(7u, v) << s;
    }
}

TEST(ConfDuration, Valid)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"0", 0},
        {"30", 30000},
        {"250ms", 250},
        {"30s", 30000},
        {"5m", 300000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"1m30s", 90000},
        {"1h30m", 5400000},
        {"1d2h3m4s5ms", 93784005},
        {"2s500ms", 2500},
        {"0s", 0},
        {"9223372036854775807ms", INT64_MAX},
        {"9223372036854775s807ms", INT64_MAX},
    };
    for (const auto &c : cases) {
        int64_t v = 12345;
        EXPECT_EQ(0, bd_conf_parse_duration(c.s, &v)) << c.s;
        EXPECT_EQ(c.ms, v) << c.s;
    }
}

TEST(ConfDuration, Invalid)
{
    static const char *const cases[] = {
        "", "s", "ms", "-1s", "+1s", "1.5s", "1 s", "1S", "1M", "5y", "1m30", "30s1m", "1m1m",
        "1s1s", "100ms1s", "1sec", "1hh", "1m 30s", " 1s",
        "9223372036854775808ms", /* INT64_MAX + 1 */
        "9223372036854776s",     /* INT64_MAX / 1000 + 1 seconds */
        "9223372036854776",      /* the same as a bare number */
        "106751991168d",         /* just past INT64_MAX ms */
        "9223372036854775s808ms", /* the sum overflows */
    };
    for (const char *s : cases) {
        int64_t v = 7;
        EXPECT_EQ(-1, bd_conf_parse_duration(s, &v)) << s;
        EXPECT_EQ(7, v) << s;
    }
}

TEST(ConfFlag, OnOff)
{
    bool on = false;
    EXPECT_EQ(0, bd_conf_parse_flag("on", &on));
    EXPECT_TRUE(on);
    EXPECT_EQ(0, bd_conf_parse_flag("off", &on));
    EXPECT_FALSE(on);
    EXPECT_EQ(0, bd_conf_parse_flag("ON", &on));
    EXPECT_TRUE(on);
    for (const char *s : {"", "yes", "1", "true", "onn", "of", " on"}) {
        on = true;
        EXPECT_EQ(-1, bd_conf_parse_flag(s, &on)) << s;
        EXPECT_TRUE(on) << s;
    }
}

/* --- setters called directly, as a module's own setter may --- */

struct set_conf_t {
    int64_t n;
    int level;
    uint64_t bytes;
    int64_t ms;
    std::string s;
};

static bd_conf_node_t
set_node(std::initializer_list<const char *> args)
{
    bd_conf_node_t node{};
    node.file = "t.conf";
    node.line = 1;
    for (const char *a : args) {
        node.args.push_back(a);
    }
    return node;
}

TEST(ConfSet, IntBoundsAndOverflow)
{
    static const bd_conf_bounds_t bounds = {-10, 10};
    bd_directive_t d = {"n", "main", BD_ARGS_1, bd_conf_set_int, offsetof(set_conf_t, n), &bounds};
    bd_conf_ctx_t cf = bd_test_ctx();
    set_conf_t c{};

    bd_conf_node_t node = set_node({"n", "-10"});
    EXPECT_EQ(nullptr, bd_conf_set_int(&cf, &node, &d, &c));
    EXPECT_EQ(-10, c.n);
    node = set_node({"n", "10"});
    EXPECT_EQ(nullptr, bd_conf_set_int(&cf, &node, &d, &c));
    EXPECT_EQ(10, c.n);

    node = set_node({"n", "11"});
    EXPECT_STREQ("\"n\" directive value must be between -10 and 10",
                 bd_conf_set_int(&cf, &node, &d, &c));
    node = set_node({"n", "-11"});
    EXPECT_STREQ("\"n\" directive value must be between -10 and 10",
                 bd_conf_set_int(&cf, &node, &d, &c));
    EXPECT_EQ(10, c.n);

    d.post = NULL;
    node = set_node({"n", "9223372036854775807"});
    EXPECT_EQ(nullptr, bd_conf_set_int(&cf, &node, &d, &c));
    EXPECT_EQ(INT64_MAX, c.n);
    node = set_node({"n", "-9223372036854775808"});
    EXPECT_EQ(nullptr, bd_conf_set_int(&cf, &node, &d, &c));
    EXPECT_EQ(INT64_MIN, c.n);
    for (const char *bad : {"9223372036854775808", "-9223372036854775809", "", "-", "1e3", "+1",
                            "12a", "0x1"}) {
        node = set_node({"n", bad});
        std::string want = std::string("invalid value \"") + bad + "\" in \"n\" directive";
        EXPECT_EQ(want, bd_conf_set_int(&cf, &node, &d, &c)) << bad;
    }
    EXPECT_EQ(INT64_MIN, c.n);
}

TEST(ConfSet, EnumListsItsNames)
{
    static const bd_conf_enum_t values[] = {{"a", 1}, {"b", 2}, {"c", 3}, {NULL, 0}};
    bd_directive_t d = {"mode", "main", BD_ARGS_1, bd_conf_set_enum, offsetof(set_conf_t, level),
                        values};
    bd_conf_ctx_t cf = bd_test_ctx();
    set_conf_t c{};

    bd_conf_node_t node = set_node({"mode", "c"});
    EXPECT_EQ(nullptr, bd_conf_set_enum(&cf, &node, &d, &c));
    EXPECT_EQ(3, c.level);
    node = set_node({"mode", "A"});
    EXPECT_STREQ("invalid value \"A\" in \"mode\" directive, it must be one of: a, b, c",
                 bd_conf_set_enum(&cf, &node, &d, &c));
    EXPECT_EQ(3, c.level);
}

TEST(ConfSet, SizeDurationAndString)
{
    bd_conf_ctx_t cf = bd_test_ctx();
    set_conf_t c{};
    bd_directive_t size = {"max", "main", BD_ARGS_1, bd_conf_set_size, offsetof(set_conf_t, bytes),
                           NULL};
    bd_directive_t dur = {"t", "main", BD_ARGS_1, bd_conf_set_duration, offsetof(set_conf_t, ms),
                          NULL};
    bd_directive_t str = {"s", "main", BD_ARGS_1, bd_conf_set_str, offsetof(set_conf_t, s), NULL};

    bd_conf_node_t node = set_node({"max", "2k"});
    EXPECT_EQ(nullptr, bd_conf_set_size(&cf, &node, &size, &c));
    EXPECT_EQ(2048u, c.bytes);
    node = set_node({"max", "20000000000g"});
    EXPECT_STREQ("invalid value \"20000000000g\" in \"max\" directive",
                 bd_conf_set_size(&cf, &node, &size, &c));
    EXPECT_EQ(2048u, c.bytes);

    node = set_node({"t", "250ms"});
    EXPECT_EQ(nullptr, bd_conf_set_duration(&cf, &node, &dur, &c));
    EXPECT_EQ(250, c.ms);
    node = set_node({"t", "1s1m"});
    EXPECT_STREQ("invalid value \"1s1m\" in \"t\" directive",
                 bd_conf_set_duration(&cf, &node, &dur, &c));

    node = set_node({"s", "a b"});
    EXPECT_EQ(nullptr, bd_conf_set_str(&cf, &node, &str, &c));
    EXPECT_EQ("a b", c.s);

    /* Used outside the dispatcher with no argument, a setter refuses instead of crashing. */
    node = set_node({"s"});
    EXPECT_STREQ("invalid number of arguments in \"s\" directive",
                 bd_conf_set_str(&cf, &node, &str, &c));
}

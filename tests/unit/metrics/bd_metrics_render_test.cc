/*
 * bd_metrics_render_test.cc: the text exposition format byte for byte (HELP and
 * TYPE lines, escaping, numbers, cumulative histogram buckets, the output order)
 * and the metrics_allow address ranges.
 */
#include <math.h>
#include <string.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "modules/metrics/bd_metrics.h"

namespace {

bd_metrics_label_t
L(const char *s)
{
    return {s, strlen(s)};
}

/* The lines of <text> that start with <prefix>, in order. */
std::vector<std::string>
lines_starting(const std::string &text, const std::string &prefix)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string line = text.substr(pos, end - pos);
        if (line.compare(0, prefix.size(), prefix) == 0) {
            out.push_back(line);
        }
        pos = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
}

TEST(MetricsRender, Numbers)
{
    EXPECT_EQ(bd_metrics_format_number(0), "0");
    EXPECT_EQ(bd_metrics_format_number(42), "42");
    EXPECT_EQ(bd_metrics_format_number(-3), "-3");
    EXPECT_EQ(bd_metrics_format_number(0.005), "0.005");
    EXPECT_EQ(bd_metrics_format_number(2.5), "2.5");
    EXPECT_EQ(bd_metrics_format_number(1795303219.994), "1795303219.994");
    EXPECT_EQ(bd_metrics_format_number(1e20), "1e+20");
    EXPECT_EQ(bd_metrics_format_number(INFINITY), "+Inf");
    EXPECT_EQ(bd_metrics_format_number(-INFINITY), "-Inf");
    EXPECT_EQ(bd_metrics_format_number(NAN), "NaN");
}

TEST(MetricsRender, LabelValuesAreEscaped)
{
    std::string out;
    const char v[] = "a\\b\"c\nd";
    bd_metrics_escape_label(&out, v, sizeof(v) - 1);
    EXPECT_EQ(out, "a\\\\b\\\"c\\nd");

    out.clear();
    const char *names[] = {"type", "model"};
    std::string values[] = {"x\"y", ""};
    bd_metrics_render_sample(&out, "m_total", names, values, 2, "3");
    EXPECT_EQ(out, "m_total{type=\"x\\\"y\",model=\"\"} 3\n");
}

TEST(MetricsRender, HelpEscapesBackslashAndNewlineOnly)
{
    std::string out;
    bd_metrics_render_header(&out, "x_total", "a \"quoted\" \\ and\nmore", BD_METRICS_COUNTER);
    EXPECT_EQ(out, "# HELP x_total a \"quoted\" \\\\ and\\nmore\n# TYPE x_total counter\n");
}

TEST(MetricsRender, CountersAndLabelLessDefaults)
{
    bd_metrics_slot_t *s = bd_metrics_slot_create(10);
    bd_metrics_label_t labels[3] = {L("/v1/messages"), L("200"), L("m")};
    bd_metrics_count(s, BD_MF_REQUESTS, labels, 5);
    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    std::string out;
    bd_metrics_render(&m, &out);

    EXPECT_EQ(lines_starting(out, "bedrockd_requests_total"),
              std::vector<std::string>{
                  "bedrockd_requests_total{route=\"/v1/messages\",status=\"200\",model=\"m\"} 5"});
    /* Label-less counters show 0 before their first increment; labelled
     * families without a tuple have their HELP and TYPE only. */
    EXPECT_EQ(lines_starting(out, "bedrockd_upstream_retries_total"),
              std::vector<std::string>{"bedrockd_upstream_retries_total 0"});
    EXPECT_TRUE(lines_starting(out, "bedrockd_tokens_total").empty());
    EXPECT_EQ(lines_starting(out, "# TYPE bedrockd_tokens_total"),
              std::vector<std::string>{"# TYPE bedrockd_tokens_total counter"});
    /* Every family has its HELP and TYPE once, in the table's order. */
    std::vector<std::string> types = lines_starting(out, "# TYPE ");
    ASSERT_EQ(types.size(), (size_t)BD_MF_COUNT);
    for (int f = 0; f < BD_MF_COUNT; f++) {
        EXPECT_EQ(types[(size_t)f].find(bd_metrics_families[f].name), 7u) << types[(size_t)f];
    }
    bd_metrics_slot_destroy(s);
}

TEST(MetricsRender, HistogramIsCumulativeWithSumAndCount)
{
    const bd_metrics_family_t *f = &bd_metrics_families[BD_MF_TTFT];
    ASSERT_EQ(f->nbounds, 12);
    ASSERT_EQ(f->bounds_us[0], 50000);
    ASSERT_EQ(f->bounds_us[1], 100000);
    bd_metrics_slot_t *s = bd_metrics_slot_create(10);
    bd_metrics_label_t model = L("m");
    bd_metrics_observe(s, BD_MF_TTFT, &model, 50000);    /* le 0.05 */
    bd_metrics_observe(s, BD_MF_TTFT, &model, 60000);    /* le 0.1 */
    bd_metrics_observe(s, BD_MF_TTFT, &model, 99000000); /* +Inf only */
    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    std::string out;
    bd_metrics_render(&m, &out);

    std::vector<std::string> want = {
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.05\"} 1",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.1\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.25\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.5\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.75\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"1\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"1.5\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"2\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"3\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"5\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"10\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"30\"} 2",
        "bedrockd_time_to_first_token_seconds_bucket{model=\"m\",le=\"+Inf\"} 3",
        "bedrockd_time_to_first_token_seconds_sum{model=\"m\"} 99.11",
        "bedrockd_time_to_first_token_seconds_count{model=\"m\"} 3",
    };
    EXPECT_EQ(lines_starting(out, "bedrockd_time_to_first_token_seconds"), want);
    bd_metrics_slot_destroy(s);
}

TEST(MetricsRender, SeriesSortByLabelsWithinAFamily)
{
    bd_metrics_slot_t *s = bd_metrics_slot_create(10);
    bd_metrics_label_t z = L("Zeta"), a = L("Alpha"), m = L("Mu");
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &z, 1);
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &a, 2);
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &m, 3);
    bd_metrics_merged_t merged;
    bd_metrics_collect(&s, 1, &merged);
    std::string out;
    bd_metrics_render(&merged, &out);
    EXPECT_EQ(lines_starting(out, "bedrockd_upstream_errors_total"),
              (std::vector<std::string>{"bedrockd_upstream_errors_total{type=\"Alpha\"} 2",
                                        "bedrockd_upstream_errors_total{type=\"Mu\"} 3",
                                        "bedrockd_upstream_errors_total{type=\"Zeta\"} 1"}));
    bd_metrics_slot_destroy(s);
}

std::vector<bd_cidr_t>
ranges(std::initializer_list<const char *> texts)
{
    std::vector<bd_cidr_t> out;
    for (const char *t : texts) {
        bd_cidr_t r;
        EXPECT_EQ(bd_cidr_parse(t, &r), 0) << t;
        out.push_back(r);
    }
    return out;
}

TEST(MetricsAllow, ParsesRanges)
{
    bd_cidr_t r;
    EXPECT_EQ(bd_cidr_parse("10.0.0.0/8", &r), 0);
    EXPECT_EQ(r.prefix, 8);
    EXPECT_EQ(bd_cidr_parse("192.168.1.7", &r), 0);
    EXPECT_EQ(r.prefix, 32);
    EXPECT_EQ(bd_cidr_parse("::1", &r), 0);
    EXPECT_EQ(r.prefix, 128);
    EXPECT_EQ(bd_cidr_parse("fd00::/8", &r), 0);
    for (const char *bad : {"", "abc", "10.0.0.0/33", "::/129", "1.2.3.4/", "1.2.3.4/x",
                            "1.2.3.4/-1", "1.2.3/8", "10.0.0.0/8/8"}) {
        EXPECT_EQ(bd_cidr_parse(bad, &r), -1) << bad;
    }
}

TEST(MetricsAllow, MatchesAddresses)
{
    std::vector<bd_cidr_t> local = ranges({"127.0.0.1/8", "::1"});
    EXPECT_TRUE(bd_cidr_match(local, "127.0.0.1"));
    EXPECT_TRUE(bd_cidr_match(local, "127.200.3.4"));
    EXPECT_TRUE(bd_cidr_match(local, "::1"));
    EXPECT_TRUE(bd_cidr_match(local, "::ffff:127.0.0.1")); /* dual-stack listener */
    EXPECT_FALSE(bd_cidr_match(local, "128.0.0.1"));
    EXPECT_FALSE(bd_cidr_match(local, "::2"));
    EXPECT_FALSE(bd_cidr_match(local, "10.0.0.1"));
    EXPECT_FALSE(bd_cidr_match(local, "not an address"));
    EXPECT_FALSE(bd_cidr_match(local, ""));

    std::vector<bd_cidr_t> odd = ranges({"10.1.128.0/17", "fd00::/8"});
    EXPECT_TRUE(bd_cidr_match(odd, "10.1.200.9"));
    EXPECT_FALSE(bd_cidr_match(odd, "10.1.127.255"));
    EXPECT_TRUE(bd_cidr_match(odd, "fd12:3456::1"));
    EXPECT_FALSE(bd_cidr_match(odd, "fe80::1"));

    std::vector<bd_cidr_t> v4all = ranges({"0.0.0.0/0"});
    EXPECT_TRUE(bd_cidr_match(v4all, "203.0.113.5"));
    EXPECT_FALSE(bd_cidr_match(v4all, "2001:db8::1"));
}

} // namespace

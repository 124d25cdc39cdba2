/*
 * bd_ddb_text_test.cc: the text cursor writes what std::string appends would,
 * across growth of its room and the escaping path; a usage item with every
 * field set is the item a jansson tree makes of the same row.
 */
#include <gtest/gtest.h>

#include "core/bd_json.h"
#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_text.h"
#include "modules/dynamodb/bd_ddb_usage.h"

TEST(DdbText, CursorWritesWhatAppendsWouldAcrossGrowthAndEscapes)
{
    const char *values[] = {"plain", "", "say \"hi\"", "tab\tnew\nline\x01",
                            "caf\xc3\xa9", "bad \xff utf-8", "back\\slash"};
    std::string got = "prefix:", want = "prefix:";
    bd_ddb_text_t t;
    bd_ddb_text_begin(&t, &got);
    for (int i = 0; i < 5000; i++) { /* about 200 KB: the room grows many times */
        const char *v = values[i % 7];
        bd_ddb_text_lit(&t, "{\"v\":\"");
        bd_ddb_text_escaped(&t, v, strlen(v));
        bd_ddb_text_lit(&t, "\",\"n\":");
        bd_ddb_text_int(&t, i % 3 == 0 ? -(int64_t)i * 1000003 : INT64_MAX - i);
        bd_ddb_text_lit(&t, "}");
        want += "{\"v\":\"";
        bd_json_append_escaped(&want, v, strlen(v));
        want += "\",\"n\":";
        bd_json_append_int(&want, i % 3 == 0 ? -(int64_t)i * 1000003 : INT64_MAX - i);
        want += "}";
    }
    bd_ddb_text_end(&t);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want);
    /* a second cursor on the same string continues after the text, in its spare room */
    bd_ddb_text_begin(&t, &got);
    bd_ddb_text_lit(&t, "end");
    bd_ddb_text_end(&t);
    EXPECT_EQ(got, want + "end");
}

TEST(DdbText, UsageItemWithEveryFieldIsTheTreeOfTheRow)
{
    bd_ddb_usage_row_t row;
    row.id = 123456789012LL;
    row.rec.time_ms = 1796000000123LL;
    row.rec.request_id = "req_0123456789abcdef0123";
    row.rec.key_id = "key_\"quoted\"";
    row.rec.model = "claude-sonnet-4-5";
    row.rec.model_resolved = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    row.rec.api = "anthropic";
    row.rec.route = "/v1/messages";
    row.rec.status = 429;
    row.rec.input_tokens = 9007199254740993LL;
    row.rec.output_tokens = 0;
    row.rec.cache_read_tokens = 17;
    row.rec.cache_write_tokens = -1;
    row.rec.latency_ms = 1234;
    row.rec.ttft_ms = 56;
    row.rec.streamed = true;
    row.rec.client_gone = false;
    row.rec.user_id = "user caf\xc3\xa9 \xf0\x9f\x98\x80";
    row.rec.session_id = "line\nbreak";
    row.rec.cached = true;
    const std::string task = "00000000000000ab";
    const int64_t ttl_ms = 86400000LL * 90;
    std::string text = "[";
    bd_ddb_usage_item_append(&text, &row, task, ttl_ms);
    text += "]";
    json_error_t e;
    json_t *got = json_loads(text.c_str(), 0, &e);
    ASSERT_NE(got, nullptr) << e.text << ": " << text;
    const bd_usage_record_t &u = row.rec;
    json_t *want = json_object();
    json_object_set_new(want, "pk", bd_ddb_s("req#" + u.request_id));
    json_object_set_new(want, "sk", bd_ddb_s(task + "#123456789012"));
    json_object_set_new(want, "request_id", bd_ddb_s(u.request_id));
    json_object_set_new(want, "task", bd_ddb_s(task));
    json_object_set_new(want, "time_ms", bd_ddb_n(u.time_ms));
    json_object_set_new(want, "day", bd_ddb_s(bd_ddb_day(u.time_ms)));
    json_object_set_new(want, "key_id", bd_ddb_s(u.key_id));
    json_object_set_new(want, "model", bd_ddb_s(u.model));
    json_object_set_new(want, "model_resolved", bd_ddb_s(u.model_resolved));
    json_object_set_new(want, "api", bd_ddb_s(u.api));
    json_object_set_new(want, "route", bd_ddb_s(u.route));
    json_object_set_new(want, "status", bd_ddb_n(u.status));
    json_object_set_new(want, "input_tokens", bd_ddb_n(u.input_tokens));
    json_object_set_new(want, "output_tokens", bd_ddb_n(u.output_tokens));
    json_object_set_new(want, "cache_read_tokens", bd_ddb_n(u.cache_read_tokens));
    json_object_set_new(want, "cache_write_tokens", bd_ddb_n(u.cache_write_tokens));
    json_object_set_new(want, "latency_ms", bd_ddb_n(u.latency_ms));
    json_object_set_new(want, "ttft_ms", bd_ddb_n(u.ttft_ms));
    json_object_set_new(want, "streamed", bd_ddb_bool(true));
    json_object_set_new(want, "client_gone", bd_ddb_bool(false));
    json_object_set_new(want, "user_id", bd_ddb_s(u.user_id));
    json_object_set_new(want, "session_id", bd_ddb_s(u.session_id));
    json_object_set_new(want, "cached", bd_ddb_bool(true));
    json_object_set_new(want, "expires_at", bd_ddb_n((u.time_ms + ttl_ms) / 1000));
    ASSERT_EQ(json_array_size(got), 1u);
    char *g = json_dumps(json_array_get(got, 0), JSON_SORT_KEYS);
    char *w = json_dumps(want, JSON_SORT_KEYS);
    EXPECT_STREQ(g, w);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
}

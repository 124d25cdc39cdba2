/*
 * bd_convert_golden_test.cc: runs every golden/<case>.json through the converter its
 * "kind" names and compares the result structurally with "expect" (or "expect_error"),
 * and stream cases byte for byte with golden/<case>.sse. Single-threaded test code.
 */
#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "modules/convert/bd_convert.h"

namespace
{

std::vector<std::string>
golden_cases()
{
    std::vector<std::string> names;
    DIR *d = opendir(BD_CONVERT_GOLDEN_DIR);
    if (!d) {
        return names;
    }
    while (struct dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) {
            names.push_back(n.substr(0, n.size() - 5));
        }
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::string
read_file(const std::string &path)
{
    std::string s;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) {
        return s;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        s.append(buf, n);
    }
    fclose(f);
    return s;
}

std::string
dump(json_t *j)
{
    if (!j) {
        return "(null)";
    }
    char *s = json_dumps(j, JSON_INDENT(1) | JSON_ENCODE_ANY);
    std::string r = s ? s : "";
    free(s);
    return r;
}

bd_convert_model_t
model_from(json_t *j)
{
    bd_convert_model_t m;
    m.client_name = "claude-sonnet-4-5";
    m.bedrock_id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    m.route = BD_ROUTE_CONVERSE;
    m.max_output_tokens = 0;
    m.temperature_top_p_exclusive = false;
    m.supports_thinking = true;
    m.allowed_betas = {"interleaved-thinking-2025-05-14"};
    m.allow_url_sources = false;
    if (!j) {
        return m;
    }
    json_t *v;
    if ((v = json_object_get(j, "client_name"))) {
        m.client_name = json_string_value(v);
    }
    if ((v = json_object_get(j, "route"))) {
        m.route = strcmp(json_string_value(v), "invoke") == 0 ? BD_ROUTE_INVOKE : BD_ROUTE_CONVERSE;
    }
    if ((v = json_object_get(j, "max_output_tokens"))) {
        m.max_output_tokens = json_integer_value(v);
    }
    if ((v = json_object_get(j, "temperature_top_p_exclusive"))) {
        m.temperature_top_p_exclusive = json_is_true(v);
    }
    if ((v = json_object_get(j, "supports_thinking"))) {
        m.supports_thinking = json_is_true(v);
    }
    if ((v = json_object_get(j, "allow_url_sources"))) {
        m.allow_url_sources = json_is_true(v);
    }
    size_t i;
    json_t *e;
    if ((v = json_object_get(j, "allowed_betas"))) {
        m.allowed_betas.clear();
        json_array_foreach(v, i, e) {
            m.allowed_betas.push_back(json_string_value(e));
        }
    }
    json_array_foreach(json_object_get(j, "renamed_betas"), i, e) {
        m.renamed_betas.emplace_back(json_string_value(json_array_get(e, 0)),
                                     json_string_value(json_array_get(e, 1)));
    }
    return m;
}

json_t *
usage_json(const bd_convert_usage_t &u)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "input", (json_int_t)u.input_tokens, "output",
                     (json_int_t)u.output_tokens, "cache_read", (json_int_t)u.cache_read_tokens,
                     "cache_write", (json_int_t)u.cache_write_tokens, "cache_write_5m",
                     (json_int_t)u.cache_write_5m_tokens, "cache_write_1h",
                     (json_int_t)u.cache_write_1h_tokens);
}

/* Checks that the subset of usage counts the case lists matches. */
void
expect_usage(json_t *c, const bd_convert_usage_t &u)
{
    json_t *want = json_object_get(c, "expect_usage");
    if (!want) {
        return;
    }
    json_t *got = usage_json(u);
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        EXPECT_TRUE(json_equal(v, json_object_get(got, k))) << "usage " << k << ": " << dump(got);
    }
    json_decref(got);
}

void
expect_error(json_t *c, const bd_convert_error_t &err)
{
    json_t *want = json_object_get(c, "expect_error");
    ASSERT_TRUE(want) << "unexpected failure: " << err.message;
    EXPECT_EQ(json_integer_value(json_object_get(want, "status")), err.status);
    EXPECT_STREQ(json_string_value(json_object_get(want, "type")), err.type);
    EXPECT_EQ(json_string_value(json_object_get(want, "message")), err.message);
}

void
expect_json(json_t *c, json_t *got)
{
    json_t *want = json_object_get(c, "expect");
    ASSERT_TRUE(want) << "case has no expect; got " << dump(got);
    EXPECT_TRUE(json_equal(want, got)) << "want " << dump(want) << "\ngot " << dump(got);
}

void
run_request(json_t *c, const bd_convert_model_t &m, const char *kind)
{
    bd_convert_request_t out;
    bd_convert_error_t err;
    const char *beta = json_string_value(json_object_get(c, "beta"));
    json_t *in = json_object_get(c, "input");
    json_t *before = json_deep_copy(in);
    int rc = strcmp(kind, "invoke_request") == 0
                 ? bd_convert_anthropic_to_invoke(in, &m, beta, &out, &err)
                 : bd_convert_anthropic_to_converse(in, &m, beta, &out, &err);
    EXPECT_TRUE(json_equal(before, in)) << "the input was modified";
    json_decref(before);
    if (rc != 0) {
        expect_error(c, err);
        return;
    }
    json_t *urls = json_object_get(c, "expect_urls");
    ASSERT_EQ(json_array_size(urls), out.url_sources.size());
    for (size_t i = 0; i < out.url_sources.size(); i++) {
        EXPECT_EQ(json_string_value(json_array_get(urls, i)), out.url_sources[i].url);
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c, "fill_urls"), i, f) {
        int frc =
            bd_convert_url_source_fill(&out.url_sources[i], json_string_value(json_array_get(f, 0)),
                                       json_string_value(json_array_get(f, 1)), &err);
        if (frc != 0) {
            expect_error(c, err);
            bd_convert_request_free(&out);
            return;
        }
    }
    EXPECT_FALSE(json_object_get(c, "expect_error")) << "accepted: " << dump(out.body);
    expect_json(c, out.body);
    json_t *uid = json_object_get(c, "expect_user_id");
    EXPECT_EQ(uid ? json_string_value(uid) : "", out.user_id);
    EXPECT_EQ(json_is_true(json_object_get(c, "expect_stream")), out.stream);
    bd_convert_request_free(&out);
}

void
run_response(json_t *c, const bd_convert_model_t &m, const char *kind)
{
    bd_convert_error_t err;
    bd_convert_usage_t usage = {};
    json_t *in = json_object_get(c, "input");
    json_t *got = nullptr;

    if (strcmp(kind, "converse_response") == 0 || strcmp(kind, "invoke_response") == 0) {
        /* The answers are written as text: what the client reads is that text parsed. */
        std::string text;
        std::string body = dump(in);
        int rc;
        if (kind[0] == 'c') {
            rc = bd_convert_converse_answer(body.data(), body.size(), "msg_bdrk_01",
                                            m.client_name.c_str(), &text, &usage, &err);
        } else {
            rc = bd_convert_invoke_answer(body.data(), body.size(), m.client_name.c_str(), &text,
                                          &usage, &err);
        }
        json_error_t jerr;
        got = rc == 0 ? json_loadb(text.data(), text.size(), 0, &jerr) : nullptr;
        EXPECT_TRUE(rc != 0 || got != nullptr) << text << ": " << jerr.text;
    } else if (strcmp(kind, "count_tokens_request") == 0) {
        got = bd_convert_count_tokens_request(in, &m, json_string_value(json_object_get(c, "beta")),
                                              &err);
    } else {
        got = bd_convert_count_tokens_response(in, &err);
    }
    if (!got) {
        expect_error(c, err);
        return;
    }
    expect_json(c, got);
    expect_usage(c, usage);
    json_decref(got);
}

std::string
chunk_b64(json_t *event)
{
    char *s = json_dumps(event, JSON_COMPACT);
    std::string b64(4 * ((strlen(s) + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock((unsigned char *)&b64[0], (const unsigned char *)s, (int)strlen(s));
    b64.resize((size_t)n);
    free(s);
    return b64;
}

/* events: [type, payload] feeds an event; ["exception", name, payload]; ["end"];
 * ["ping"]; for invoke, ["chunk_json", event] base64-encodes the event first. */
void
feed_one(json_t *e, const bd_convert_model_t &m, bd_convert_stream_t *s,
         bd_convert_invoke_stream_t *is, bool invoke, std::string *out)
{
    bd_convert_error_t err;
    const char *type = json_string_value(json_array_get(e, 0));
    json_t *payload = json_array_get(e, 1);

    (void)m;
    if (strcmp(type, "exception") == 0) {
        const char *name = json_string_value(payload);
        if (invoke) {
            bd_convert_invoke_stream_exception(is, name, json_array_get(e, 2), out, &err);
        } else {
            bd_convert_stream_exception(s, name, json_array_get(e, 2), out, &err);
        }
        return;
    }
    if (strcmp(type, "end") == 0) {
        bd_convert_stream_end(s, out);
        return;
    }
    if (strcmp(type, "ping") == 0) {
        bd_convert_sse_ping(out);
        return;
    }
    int rc;
    if (invoke && strcmp(type, "chunk_json") == 0) {
        json_t *p = json_pack("{s:s}", "bytes", chunk_b64(payload).c_str());
        std::string text = dump(p);
        rc = bd_convert_invoke_stream_feed(is, "chunk", text.data(), text.size(), out, &err);
        json_decref(p);
    } else if (invoke) {
        std::string text = dump(payload);
        rc = bd_convert_invoke_stream_feed(is, type, text.data(), text.size(), out, &err);
    } else {
        /* the relay's path: the payload's text, text deltas written from a scan */
        std::string text = dump(payload);
        rc = bd_convert_stream_feed_text(s, type, text.data(), text.size(), out, &err);
    }
    if (rc != 0) {
        /* the caller's duty on a malformed event: report it in the stream */
        bd_convert_sse_error(out, err.type, err.message.c_str());
    }
}

void
run_stream(json_t *c, const bd_convert_model_t &m, const std::string &name, bool invoke)
{
    bd_convert_stream_t s;
    bd_convert_invoke_stream_t is;
    std::string out;
    size_t i;
    json_t *e;

    bd_convert_stream_init(&s, "msg_bdrk_01", m.client_name.c_str(), 0);
    bd_convert_invoke_stream_init(&is, m.client_name.c_str());
    json_array_foreach(json_object_get(c, "events"), i, e) {
        feed_one(e, m, &s, &is, invoke, &out);
    }
    std::string want = read_file(std::string(BD_CONVERT_GOLDEN_DIR) + "/" + name + ".sse");
    ASSERT_FALSE(want.empty()) << name << ".sse missing";
    EXPECT_EQ(want, out);
    expect_usage(c, invoke ? is.usage : s.usage);
    json_t *fin = json_object_get(c, "expect_finished");
    if (fin) {
        EXPECT_EQ(json_is_true(fin), invoke ? is.finished : s.finished);
    }
    json_t *failed = json_object_get(c, "expect_failed");
    if (failed) {
        EXPECT_EQ(json_is_true(failed), invoke ? is.failed : s.failed);
    }
}

class Golden : public ::testing::TestWithParam<std::string>
{
};

TEST_P(Golden, Case)
{
    std::string name = GetParam();
    json_error_t jerr;
    std::string path = std::string(BD_CONVERT_GOLDEN_DIR) + "/" + name + ".json";
    json_t *c = json_load_file(path.c_str(), 0, &jerr);
    ASSERT_TRUE(c) << path << ":" << jerr.line << ": " << jerr.text;
    bd_convert_model_t m = model_from(json_object_get(c, "model"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    ASSERT_TRUE(kind) << "case has no kind";
    if (strcmp(kind, "converse_request") == 0 || strcmp(kind, "invoke_request") == 0) {
        run_request(c, m, kind);
    } else if (strcmp(kind, "converse_stream") == 0 || strcmp(kind, "invoke_stream") == 0) {
        run_stream(c, m, name, strcmp(kind, "invoke_stream") == 0);
    } else {
        run_response(c, m, kind);
    }
    json_decref(c);
}

std::string
case_name(const ::testing::TestParamInfo<std::string> &info)
{
    std::string n = info.param;
    for (char &ch : n) {
        if (!isalnum((unsigned char)ch)) {
            ch = '_';
        }
    }
    return n;
}

INSTANTIATE_TEST_SUITE_P(Convert, Golden, ::testing::ValuesIn(golden_cases()), case_name);

} // namespace

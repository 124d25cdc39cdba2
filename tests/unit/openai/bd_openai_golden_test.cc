/*
 * bd_openai_golden_test.cc: runs every golden/<case>.json through the OpenAI adapter
 * (modules/convert/bd_convert_openai.h) as its "kind" says: chat requests -> Converse,
 * Converse -> chat.completion, ConverseStream fed one event at a time -> chunks (byte for
 * byte against golden/<case>.sse), embeddings requests and answers. Single-threaded.
 * BD_GOLDEN_WRITE=1 rewrites the expectations from the current output, for review.
 */
#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "modules/convert/bd_convert_openai.h"

namespace
{

const std::string kDir = BD_OPENAI_GOLDEN_DIR;

bool
writing()
{
    const char *w = getenv("BD_GOLDEN_WRITE");
    return w && *w && strcmp(w, "0") != 0;
}

std::vector<std::string>
golden_cases()
{
    std::vector<std::string> names;
    DIR *d = opendir(kDir.c_str());
    while (d) {
        struct dirent *e = readdir(d);
        if (!e) {
            break;
        }
        std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) {
            names.push_back(n.substr(0, n.size() - 5));
        }
    }
    if (d) {
        closedir(d);
    }
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

void
write_file(const std::string &path, const std::string &s)
{
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_TRUE(f) << path;
    fwrite(s.data(), 1, s.size(), f);
    fclose(f);
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
    m.client_name = "claude-sonnet";
    m.bedrock_id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    m.route = BD_ROUTE_INVOKE; /* OpenAI goes through Converse whatever the route */
    m.max_output_tokens = 0;
    m.temperature_top_p_exclusive = false;
    m.supports_thinking = true;
    m.allow_url_sources = false;
    json_t *v;
    if ((v = json_object_get(j, "client_name"))) {
        m.client_name = json_string_value(v);
    }
    if ((v = json_object_get(j, "bedrock_id"))) {
        m.bedrock_id = json_string_value(v);
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
    return m;
}

/* The case file being checked; in write mode, updated and saved at the end. */
struct golden_case_t {
    std::string name;
    json_t *c;
    bool dirty;
};

void
expect_json(golden_case_t *g, const char *key, json_t *got)
{
    if (writing()) {
        json_object_set(g->c, key, got);
        g->dirty = true;
        return;
    }
    json_t *want = json_object_get(g->c, key);
    ASSERT_TRUE(want) << "case has no " << key << "; got " << dump(got);
    EXPECT_TRUE(json_equal(want, got)) << key << ": want " << dump(want) << "\ngot " << dump(got);
}

void
expect_error(golden_case_t *g, const bd_convert_error_t &err)
{
    json_t *got = json_pack("{s:i,s:s,s:s}", "status", err.status, "type", err.type, "message",
                            err.message.c_str());
    if (!writing()) {
        ASSERT_TRUE(json_object_get(g->c, "expect_error")) << "unexpected failure: "
                                                            << err.message;
    }
    expect_json(g, "expect_error", got);
    json_decref(got);
}

json_t *
usage_json(const bd_convert_usage_t &u)
{
    return json_pack("{s:I,s:I,s:I,s:I}", "input", (json_int_t)u.input_tokens, "output",
                     (json_int_t)u.output_tokens, "cache_read", (json_int_t)u.cache_read_tokens,
                     "cache_write", (json_int_t)u.cache_write_tokens);
}

void
run_chat_request(golden_case_t *g, const bd_convert_model_t &m)
{
    bd_convert_request_t out;
    bd_convert_openai_chat_t chat;
    bd_convert_error_t err;
    json_t *in = json_object_get(g->c, "input");
    json_t *before = json_deep_copy(in);
    json_t *dmt = json_object_get(g->c, "default_max_tokens");
    int64_t def = dmt ? json_integer_value(dmt) : 4096;
    int rc = bd_convert_openai_to_converse(in, &m, def, &out, &chat, &err);
    EXPECT_TRUE(json_equal(before, in)) << "the input was modified";
    json_decref(before);
    if (rc != 0) {
        expect_error(g, err);
        return;
    }
    EXPECT_FALSE(json_object_get(g->c, "expect_error")) << "accepted: " << dump(out.body);
    expect_json(g, "expect", out.body);
    json_t *urls = json_array();
    for (const bd_convert_url_source_t &u : out.url_sources) {
        json_array_append_new(urls, json_string(u.url.c_str()));
    }
    json_t *facts = json_pack("{s:b,s:b,s:b,s:I,s:s,s:o}", "stream", out.stream, "include_usage",
                              chat.include_usage, "thinking", chat.thinking, "max_tokens",
                              (json_int_t)out.max_tokens, "user_id", out.user_id.c_str(), "urls",
                              urls);
    expect_json(g, "expect_facts", facts);
    json_decref(facts);
    bd_convert_request_free(&out);
}

void
run_chat_response(golden_case_t *g, const bd_convert_model_t &m)
{
    bd_convert_error_t err;
    bd_convert_usage_t usage = {};
    json_t *got = bd_convert_converse_to_openai(json_object_get(g->c, "input"), "chatcmpl-test",
                                                1700000000, m.client_name.c_str(), &usage, &err);
    if (!got) {
        expect_error(g, err);
        return;
    }
    expect_json(g, "expect", got);
    json_decref(got);
    json_t *u = usage_json(usage);
    expect_json(g, "expect_usage", u);
    json_decref(u);
}

/* events: [type, payload] feeds an event; ["exception", name, payload]; ["end"]. */
void
feed_one(json_t *e, bd_convert_openai_stream_t *s, std::string *out)
{
    bd_convert_error_t err;
    const char *type = json_string_value(json_array_get(e, 0));
    json_t *payload = json_array_get(e, 1);
    if (strcmp(type, "exception") == 0) {
        bd_convert_openai_stream_exception(s, json_string_value(payload), json_array_get(e, 2),
                                           out, &err);
    } else if (strcmp(type, "end") == 0) {
        bd_convert_openai_stream_end(s, out);
    } else if (bd_convert_openai_stream_feed(s, type, payload, out, &err) != 0) {
        /* the caller's duty on a malformed event: report it in the stream */
        bd_convert_openai_sse_error(s, "server_error", err.message.c_str(), out);
    }
}

void
run_chat_stream(golden_case_t *g)
{
    bd_convert_openai_stream_t s;
    std::string out;
    size_t i;
    json_t *e;
    bd_convert_openai_stream_init(&s, "chatcmpl-test", 1700000000, "claude-sonnet",
                                  json_is_true(json_object_get(g->c, "include_usage")));
    json_array_foreach(json_object_get(g->c, "events"), i, e) {
        feed_one(e, &s, &out);
    }
    std::string path = kDir + "/" + g->name + ".sse";
    if (writing()) {
        write_file(path, out);
    } else {
        std::string want = read_file(path);
        ASSERT_FALSE(want.empty()) << g->name << ".sse missing";
        EXPECT_EQ(want, out);
    }
    json_t *facts = json_pack("{s:b,s:b,s:o}", "finished", s.finished, "failed", s.failed, "usage",
                              usage_json(s.usage));
    expect_json(g, "expect_facts", facts);
    json_decref(facts);
}

void
run_embed_request(golden_case_t *g, const bd_convert_model_t &m)
{
    bd_convert_embed_t e;
    bd_convert_error_t err;
    if (bd_convert_openai_embed_request(json_object_get(g->c, "input"), &m, &e, &err) != 0) {
        expect_error(g, err);
        return;
    }
    json_t *bodies = json_array();
    for (size_t i = 0; i < e.bodies.size(); i++) {
        json_t *b = json_loads(e.bodies[i].c_str(), 0, nullptr);
        ASSERT_TRUE(b) << "body " << i << " is not JSON: " << e.bodies[i];
        json_array_append_new(bodies, json_pack("{s:I,s:o}", "first_input",
                                                (json_int_t)e.first_input[i], "body", b));
    }
    json_t *got = json_pack("{s:i,s:b,s:I,s:s,s:o}", "family", e.family, "base64", e.base64,
                            "dimensions", (json_int_t)e.dimensions, "user_id", e.user_id.c_str(),
                            "calls", bodies);
    expect_json(g, "expect", got);
    json_decref(got);
}

/* Decodes a base64 embedding back into floats, as openai-node does. */
json_t *
decode_floats(const char *b64)
{
    std::string bytes(strlen(b64), '\0');
    int n = EVP_DecodeBlock((unsigned char *)&bytes[0], (const unsigned char *)b64,
                            (int)strlen(b64));
    n -= (int)(strlen(b64) > 0 && b64[strlen(b64) - 1] == '=');
    n -= (int)(strlen(b64) > 1 && b64[strlen(b64) - 2] == '=');
    json_t *arr = json_array();
    for (int i = 0; i + 4 <= n; i += 4) {
        uint32_t u = 0;
        for (int k = 0; k < 4; k++) {
            u |= (uint32_t)(unsigned char)bytes[i + k] << (8 * k);
        }
        float f;
        memcpy(&f, &u, 4);
        json_array_append_new(arr, json_real(f));
    }
    return arr;
}

void
run_embed_response(golden_case_t *g, const bd_convert_model_t &m)
{
    bd_convert_embed_t e;
    bd_convert_error_t err;
    ASSERT_EQ(0, bd_convert_openai_embed_request(json_object_get(g->c, "request"), &m, &e, &err))
        << err.message;
    std::vector<std::vector<double>> vectors(e.inputs.size());
    int64_t tokens = 0;
    json_t *answers = json_object_get(g->c, "answers");
    ASSERT_EQ(e.bodies.size(), json_array_size(answers));
    for (size_t i = 0; i < e.bodies.size(); i++) {
        if (bd_convert_openai_embed_parse(&e, i, json_array_get(answers, i), &vectors, &tokens,
                                          &err) != 0) {
            expect_error(g, err);
            return;
        }
    }
    json_t *got = bd_convert_openai_embed_response(&e, vectors, m.client_name.c_str(), tokens);
    expect_json(g, "expect", got);
    if (e.base64) {
        json_t *floats = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(got, "data"), i, d) {
            const char *b64 = json_string_value(json_object_get(d, "embedding"));
            json_array_append_new(floats, decode_floats(b64));
        }
        expect_json(g, "expect_decoded", floats);
        json_decref(floats);
    }
    json_decref(got);
}

class Golden : public ::testing::TestWithParam<std::string>
{
};

TEST_P(Golden, Case)
{
    golden_case_t g = {GetParam(), nullptr, false};
    json_error_t jerr;
    std::string path = kDir + "/" + g.name + ".json";
    g.c = json_load_file(path.c_str(), JSON_PRESERVE_ORDER, &jerr);
    ASSERT_TRUE(g.c) << path << ":" << jerr.line << ": " << jerr.text;
    bd_convert_model_t m = model_from(json_object_get(g.c, "model"));
    const char *kind = json_string_value(json_object_get(g.c, "kind"));
    ASSERT_TRUE(kind) << "case has no kind";
    std::string k = kind;
    if (k == "chat_request") {
        run_chat_request(&g, m);
    } else if (k == "chat_response") {
        run_chat_response(&g, m);
    } else if (k == "chat_stream") {
        run_chat_stream(&g);
    } else if (k == "embed_request") {
        run_embed_request(&g, m);
    } else if (k == "embed_response") {
        run_embed_response(&g, m);
    } else {
        ADD_FAILURE() << "unknown kind " << k;
    }
    if (g.dirty) {
        json_dump_file(g.c, path.c_str(), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        FILE *f = fopen(path.c_str(), "ab");
        if (f) {
            fputc('\n', f);
            fclose(f);
        }
    }
    json_decref(g.c);
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

INSTANTIATE_TEST_SUITE_P(OpenAI, Golden, ::testing::ValuesIn(golden_cases()), case_name);

} // namespace

/*
 * bd_models_table_test.cc: the merged model table: every name a client may ask for
 * (conf names and aliases, additions, conf ids and the model source's names under
 * passthrough) resolves to a pointer into the published table, the same entry the
 * slow path builds; a passthrough id nobody configured and a request on another
 * snapshot get their own entry; the table follows new additions, a newer snapshot
 * and the source, and a table a request holds outlives its replacement, also with
 * readers on other threads while the writers publish (run under ThreadSanitizer).
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "core/bd_core_module.h"
#include "core/bd_snapshot.h"
#include "modules/models/bd_models.h"

bd_module_t *const bd_modules[] = {&bd_core_module, &bd_models_module, nullptr};

void
bd_modules_init(void)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_modules[i]->index = i;
    }
}

namespace {

const char *const CONF =
    "model sonnet { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; alias sonnet-latest;\n"
    "               route converse; max_output_tokens 1000; }\n"
    "model nova { id us.amazon.nova-pro-v1:0; }\n";

class TableTest : public ::testing::Test {
protected:
    std::string dir;
    std::vector<bd_snapshot_t *> snaps;

    void SetUp() override
    {
        bd_modules_init();
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_models_table.XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
    }

    void TearDown() override
    {
        bd_models_table_close();
        bd_models_publish_additions(nullptr);
        bd_models_publish_catalog(nullptr);
        for (bd_snapshot_t *s : snaps) {
            bd_snapshot_unref(s);
        }
        unlink((dir + "/m.conf").c_str());
        rmdir(dir.c_str());
    }

    bd_snapshot_t *Load(const std::string &text)
    {
        std::string path = dir + "/m.conf";
        FILE *f = fopen(path.c_str(), "w");
        EXPECT_NE(f, nullptr);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        std::string err;
        bd_snapshot_t *s = bd_snapshot_load(path.c_str(), nullptr, &err);
        EXPECT_NE(s, nullptr) << err;
        snaps.push_back(s);
        return s;
    }

    /* Looks <name> up; *<in_table> says whether the answer is the table's. */
    const bd_convert_model_t *Lookup(bd_snapshot_t *s, const char *name, bool *in_table,
                                     bd_convert_model_t *scratch, bd_published_obj_t **held)
    {
        *held = nullptr;
        const bd_convert_model_t *m = bd_models_lookup(s, name, held, scratch);
        *in_table = *held != nullptr;
        EXPECT_TRUE(m == nullptr || (*in_table ? m != scratch : m == scratch));
        return m;
    }

    /* The table's answer for <name> equals the slow path's. */
    void ExpectSameAsResolve(bd_snapshot_t *s, const char *name)
    {
        bd_convert_model_t scratch, slow;
        bd_published_obj_t *held;
        bool in_table;
        const bd_convert_model_t *m = Lookup(s, name, &in_table, &scratch, &held);
        ASSERT_NE(m, nullptr) << name;
        EXPECT_TRUE(in_table) << name;
        ASSERT_EQ(bd_models_resolve(s, name, &slow), 0);
        EXPECT_EQ(m->client_name, slow.client_name);
        EXPECT_EQ(m->bedrock_id, slow.bedrock_id);
        EXPECT_EQ(m->route, slow.route);
        EXPECT_EQ(m->max_output_tokens, slow.max_output_tokens);
        EXPECT_EQ(m->supports_thinking, slow.supports_thinking);
        EXPECT_EQ(m->allowed_betas, slow.allowed_betas);
        bd_published_release(held);
    }
};

TEST_F(TableTest, EveryNamedModelIsAPointerIntoTheTable)
{
    bd_snapshot_t *s = Load(CONF);
    bd_models_table_follow(s);
    std::vector<bd_models_addition_t> adds = {
        {"house-llama", "meta.llama3-1-8b-instruct-v1:0", "", 1759104000000}};
    bd_models_publish_additions(&adds);
    for (const char *name : {"sonnet", "sonnet-latest", "nova", "house-llama",
                             "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}) {
        ExpectSameAsResolve(s, name);
    }
    bd_convert_model_t scratch;
    bd_published_obj_t *held;
    bool in_table;
    const bd_convert_model_t *alias = Lookup(s, "sonnet-latest", &in_table, &scratch, &held);
    ASSERT_TRUE(in_table);
    EXPECT_EQ(alias->client_name, "sonnet-latest") << "an alias answers with its own name";
    EXPECT_EQ(alias->max_output_tokens, 1000);
    bd_published_release(held);

    const bd_convert_model_t *pass =
        Lookup(s, "anthropic.claude-3-haiku-20240307-v1:0", &in_table, &scratch, &held);
    ASSERT_NE(pass, nullptr);
    EXPECT_FALSE(in_table) << "a passthrough id nobody configured is the request's own";
    EXPECT_EQ(pass->bedrock_id, "anthropic.claude-3-haiku-20240307-v1:0");
    EXPECT_EQ(Lookup(s, "no-such-model", &in_table, &scratch, &held), nullptr);
}

TEST_F(TableTest, FollowsAdditionsTheSourceAndANewerSnapshot)
{
    bd_snapshot_t *s1 = Load(CONF);
    bd_models_table_follow(s1);
    bd_convert_model_t scratch;
    bd_published_obj_t *held;
    bool in_table;

    /* A request holds the first table while additions replace it. */
    const bd_convert_model_t *old = Lookup(s1, "sonnet", &in_table, &scratch, &held);
    ASSERT_TRUE(in_table);
    std::vector<bd_models_addition_t> adds = {
        {"fresh", "us.amazon.nova-pro-v1:0", "invoke", 1759104000000}};
    bd_models_publish_additions(&adds);
    EXPECT_EQ(old->bedrock_id, "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    bd_published_release(held);
    const bd_convert_model_t *fresh = Lookup(s1, "fresh", &in_table, &scratch, &held);
    ASSERT_NE(fresh, nullptr);
    EXPECT_TRUE(in_table);
    EXPECT_EQ(fresh->route, BD_ROUTE_INVOKE);
    bd_published_release(held);

    /* The model source's names, under passthrough. */
    bd_models_catalog_t *c = new bd_models_catalog_t();
    bd_published_obj_init(&c->pub, [](bd_published_obj_t *o) { delete (bd_models_catalog_t *)o; });
    c->names["claude-3-haiku"] = "anthropic.claude-3-haiku-20240307-v1:0";
    bd_models_publish_catalog(c);
    ExpectSameAsResolve(s1, "claude-3-haiku");

    /* A newer snapshot: its requests use the new table; an older one is not followed. */
    bd_snapshot_t *s2 = Load("model opus { id us.anthropic.claude-opus-4-1-20250805-v1:0; }\n");
    ASSERT_GT(s2->generation, s1->generation);
    bd_models_table_follow(s2);
    bd_models_table_follow(s1);
    ExpectSameAsResolve(s2, "opus");
    EXPECT_EQ(Lookup(s2, "sonnet", &in_table, &scratch, &held), nullptr);
    const bd_convert_model_t *on_old = Lookup(s1, "sonnet", &in_table, &scratch, &held);
    ASSERT_NE(on_old, nullptr) << "a request on the replaced snapshot still resolves";
    EXPECT_FALSE(in_table);
    EXPECT_EQ(on_old->max_output_tokens, 1000);
}

TEST_F(TableTest, ReadersOnOtherThreadsWhileWritersPublish)
{
    bd_snapshot_t *s1 = Load(CONF);
    bd_snapshot_t *s2 = Load(CONF);
    bd_models_table_follow(s1);
    std::atomic<bool> stop{false};
    std::atomic<long> hits{0};
    std::atomic<int> started{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; i++) {
        readers.emplace_back([&] {
            for (bool first = true; !stop.load(); first = false) {
                for (bd_snapshot_t *s : {s1, s2}) {
                    bd_convert_model_t scratch;
                    bd_published_obj_t *held = nullptr;
                    const bd_convert_model_t *m = bd_models_lookup(s, "sonnet-latest", &held, &scratch);
                    if (m == nullptr || m->client_name != "sonnet-latest" ||
                        m->max_output_tokens != 1000) {
                        ADD_FAILURE() << "a reader saw a wrong entry";
                        started += first; /* the writers must not wait for it */
                        return;
                    }
                    hits += held != nullptr;
                    bd_published_release(held);
                }
                started += first;
            }
        });
    }
    /* The writers start once every reader has read (a loaded machine could otherwise
     * start the readers after the last publish) */
    while (started.load() < 3) {
        std::this_thread::yield();
    }
    for (int i = 0; i < 300; i++) {
        std::vector<bd_models_addition_t> adds = {
            {"add-" + std::to_string(i), "us.amazon.nova-pro-v1:0", "", 1759104000000}};
        bd_models_publish_additions(&adds);
        if (i == 150) {
            bd_models_table_follow(s2);
        }
    }
    stop = true;
    for (std::thread &t : readers) {
        t.join();
    }
    EXPECT_GT(hits.load(), 0);
}

} // namespace

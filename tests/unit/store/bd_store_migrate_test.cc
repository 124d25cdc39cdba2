/*
 * bd_store_migrate_test.cc: the schema: created from an empty file, migrated from
 * version 1 with its rows kept, refused when newer than the code; keys and usage
 * round trips through a real SQLite file in a temporary directory; the count of
 * writes to keys and models that tells the store thread to reload them.
 */
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "modules/store/bd_store.h"

class StoreFile : public ::testing::Test {
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/bd-store-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/s.db";
    }
    void TearDown() override
    {
        std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(system(cmd.c_str()), 0);
    }
    static int Count(sqlite3 *db, const char *sql)
    {
        sqlite3_stmt *st = nullptr;
        int n = -1;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            n = sqlite3_column_int(st, 0);
        }
        sqlite3_finalize(st);
        return n;
    }
    std::string dir_, path_;
};

TEST_F(StoreFile, EmptyFileGetsTheLatestSchema)
{
    std::string err;
    sqlite3 *db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    EXPECT_EQ(bd_store_schema_version(db), BD_STORE_SCHEMA_VERSION);
    EXPECT_EQ(Count(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                        "('keys','usage','models')"),
              3);
    EXPECT_EQ(Count(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    bd_store_close(db);

    /* Opening again is a no-op migration. */
    db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    EXPECT_EQ(bd_store_schema_version(db), BD_STORE_SCHEMA_VERSION);
    bd_store_close(db);
}

TEST_F(StoreFile, VersionOneIsMigratedWithItsRows)
{
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::string err;
    ASSERT_EQ(bd_store_migrate(db, 1, &err), 0) << err;
    ASSERT_EQ(bd_store_schema_version(db), 1);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO usage (time_ms, request_id, key_id, status, input_tokens) "
                           "VALUES (1000, 'req_a', 'key_a', 200, 7)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    EXPECT_EQ(Count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'models'"), 0);
    sqlite3_close(db);

    db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    EXPECT_EQ(bd_store_schema_version(db), BD_STORE_SCHEMA_VERSION);
    EXPECT_EQ(Count(db, "SELECT input_tokens FROM usage WHERE request_id = 'req_a' "
                        "AND user_id = '' AND session_id = '' AND served_by = '' AND cached = 0"),
              7);
    bd_store_model_t m{"fast", "us.amazon.nova-micro-v1:0", "converse", 5};
    ASSERT_EQ(bd_store_model_set(db, &m, &err), 0) << err;
    std::vector<bd_store_model_t> models;
    ASSERT_EQ(bd_store_models_load(db, &models, &err), 0) << err;
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].bedrock_id, "us.amazon.nova-micro-v1:0");
    EXPECT_EQ(bd_store_model_unset(db, "fast", &err), 1);
    EXPECT_EQ(bd_store_model_unset(db, "fast", &err), 0);
    bd_store_close(db);
}

TEST_F(StoreFile, NewerFileIsRefused)
{
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    std::string err;
    EXPECT_EQ(bd_store_open(path_.c_str(), 1000, &err), nullptr);
    EXPECT_NE(err.find("newer"), std::string::npos) << err;
}

TEST_F(StoreFile, MissingDirectoryIsNotCreated)
{
    std::string err;
    std::string p = dir_ + "/absent/s.db";
    EXPECT_EQ(bd_store_open(p.c_str(), 1000, &err), nullptr);
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    EXPECT_NE(access((dir_ + "/absent").c_str(), F_OK), 0);
}

TEST_F(StoreFile, KeysRoundTrip)
{
    std::string err;
    sqlite3 *db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    bd_key_t k{};
    ASSERT_EQ(bd_key_generate_id(&k.id), 0);
    std::string secret;
    ASSERT_EQ(bd_key_generate_secret(&secret), 0);
    bd_key_hash(secret.data(), secret.size(), &k.hash);
    k.prefix = secret.substr(0, BD_KEY_DISPLAY_LEN);
    k.name = "ci";
    k.active = true;
    k.created_ms = 42;
    k.rpm = 50;
    k.models = {"claude-*"};
    ASSERT_EQ(bd_store_key_insert(db, &k, &err), 0) << err;

    std::vector<bd_key_t> keys;
    ASSERT_EQ(bd_store_keys_load(db, &keys, &err), 0) << err;
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].hash, k.hash);
    EXPECT_EQ(keys[0].rpm, 50);
    EXPECT_EQ(keys[0].models, k.models);
    EXPECT_EQ(keys[0].metadata, "{}");
    EXPECT_EQ(Count(db, "SELECT count(*) FROM keys WHERE hash LIKE 'sk-%'"), 0);

    k.active = false;
    EXPECT_EQ(bd_store_key_update(db, &k, &err), 1);
    bd_key_t got{};
    ASSERT_EQ(bd_store_key_get(db, k.id, &got, &err), 1);
    EXPECT_FALSE(got.active);
    EXPECT_EQ(bd_store_key_get(db, "key_none", &got, &err), 0);
    bd_store_close(db);
}

TEST_F(StoreFile, UsageBatchAndReport)
{
    std::string err;
    sqlite3 *db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    std::vector<bd_usage_record_t> recs(3);
    for (size_t i = 0; i < recs.size(); i++) {
        recs[i].time_ms = 86400000LL * (int64_t)i; /* one a day from the epoch */
        recs[i].request_id = "req_" + std::to_string(i);
        recs[i].key_id = i == 2 ? "key_b" : "key_a";
        recs[i].model = "m";
        recs[i].status = i == 1 ? 500 : 200;
        recs[i].input_tokens = 10;
        recs[i].output_tokens = 1;
    }
    recs[2].cached = true;
    ASSERT_EQ(bd_store_usage_insert(db, recs.data(), recs.size(), &err), 0) << err;
    EXPECT_EQ(Count(db, "SELECT count(*) FROM usage WHERE cached = 1 AND request_id = 'req_2'"), 1);
    EXPECT_EQ(Count(db, "SELECT count(*) FROM usage WHERE cached = 0"), 2);
    std::vector<bd_usage_row_t> rows;
    ASSERT_EQ(bd_store_usage_report(db, BD_USAGE_BY_KEY, 0, INT64_MAX, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].group, "key_a");
    EXPECT_EQ(rows[0].requests, 2);
    EXPECT_EQ(rows[0].errors, 1);
    EXPECT_EQ(rows[0].input_tokens, 20);
    ASSERT_EQ(bd_store_usage_report(db, BD_USAGE_BY_DAY, 86400000LL, INT64_MAX, &rows, &err), 0);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].group, "1970-01-02");
    bd_store_close(db);
}

/* The store thread reloads keys and models when this count moved: every write to them
 * moves it, and a write elsewhere (usage, the sync's state) does not. */
TEST_F(StoreFile, KeysAndModelsWritesAreCountedAndNothingElse)
{
    std::string err;
    sqlite3 *db = bd_store_open(path_.c_str(), 1000, &err);
    ASSERT_NE(db, nullptr) << err;
    int64_t n = bd_store_keys_models_writes(db);
    ASSERT_GE(n, 0);

    bd_usage_record_t rec{};
    rec.request_id = "req_1";
    rec.status = 200;
    ASSERT_EQ(bd_store_usage_insert(db, &rec, 1, &err), 0) << err;
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO sync_state VALUES ('pushed_upto', 1)", nullptr, nullptr,
                           nullptr), SQLITE_OK);
    EXPECT_EQ(bd_store_keys_models_writes(db), n);

    bd_key_t k{};
    ASSERT_EQ(bd_key_generate_id(&k.id), 0);
    k.hash = std::string(64, 'a');
    k.prefix = "sk-bd-aaaa";
    k.name = "counted";
    k.active = true;
    ASSERT_EQ(bd_store_key_insert(db, &k, &err), 0) << err;
    EXPECT_EQ(bd_store_keys_models_writes(db), n + 1);
    k.active = false;
    ASSERT_EQ(bd_store_key_update(db, &k, &err), 1) << err;
    EXPECT_EQ(bd_store_keys_models_writes(db), n + 2);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM keys", nullptr, nullptr, nullptr), SQLITE_OK);
    EXPECT_EQ(bd_store_keys_models_writes(db), n + 3);

    bd_store_model_t m{};
    m.name = "fast";
    m.bedrock_id = "us.anthropic.claude-haiku-4-5-20251001-v1:0";
    ASSERT_EQ(bd_store_model_set(db, &m, &err), 0) << err;
    EXPECT_GT(bd_store_keys_models_writes(db), n + 3);
    int64_t after_set = bd_store_keys_models_writes(db);
    ASSERT_EQ(bd_store_model_unset(db, "fast", &err), 1) << err;
    EXPECT_GT(bd_store_keys_models_writes(db), after_set);
    bd_store_close(db);
}

/*
 * bd_store_audit_test.cc: the audit trail in a real SQLite file: rows come back
 * oldest first within a time range and cut to the newest <limit>; rows the
 * fleet's table has not taken are listed as pending until marked pushed.
 */
#include <gtest/gtest.h>
#include <stdlib.h>

#include "modules/store/bd_store.h"

namespace {

bd_audit_row_t
Row(int64_t time_ms, const char *action, bool pending)
{
    bd_audit_row_t r;
    r.id = 0;
    r.time_ms = time_ms;
    r.token_id = "ops";
    r.action = action;
    r.target = "key_1";
    r.before = "";
    r.after = "{\"rpm\":5}";
    r.request_id = std::string("adm_") + action;
    r.client = "127.0.0.1";
    r.status = 200;
    r.fleet_pending = pending;
    return r;
}

class AuditStore : public ::testing::Test {
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/bd-audit-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::string err;
        db_ = bd_store_open((dir_ + "/s.db").c_str(), 1000, &err);
        ASSERT_NE(db_, nullptr) << err;
    }
    void TearDown() override
    {
        bd_store_close(db_);
        std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(system(cmd.c_str()), 0);
    }
    std::string dir_;
    sqlite3 *db_ = nullptr;
};

TEST_F(AuditStore, RangeAndLimitKeepTheNewestOldestFirst)
{
    std::string err;
    const char *actions[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        bd_audit_row_t r = Row(1000 * (i + 1), actions[i], false);
        ASSERT_EQ(bd_store_audit_insert(db_, &r, &err), 0) << err;
        EXPECT_EQ(r.id, i + 1);
    }
    std::vector<bd_audit_row_t> rows;
    ASSERT_EQ(bd_store_audit_list(db_, 2000, 4000, 100, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].action, "b");
    EXPECT_EQ(rows[1].action, "c");
    EXPECT_EQ(rows[1].after, "{\"rpm\":5}");
    ASSERT_EQ(bd_store_audit_list(db_, 0, INT64_MAX, 3, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].action, "b");
    EXPECT_EQ(rows[2].action, "d");
}

TEST_F(AuditStore, PendingRowsUntilPushed)
{
    std::string err;
    bd_audit_row_t kept = Row(1000, "kept", true), sent = Row(2000, "sent", false),
                   later = Row(3000, "later", true);
    for (bd_audit_row_t *r : {&kept, &sent, &later}) {
        ASSERT_EQ(bd_store_audit_insert(db_, r, &err), 0) << err;
    }
    std::vector<bd_audit_row_t> rows;
    ASSERT_EQ(bd_store_audit_pending(db_, 100, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].action, "kept");
    EXPECT_TRUE(rows[0].fleet_pending);
    EXPECT_EQ(rows[1].action, "later");
    ASSERT_EQ(bd_store_audit_pending(db_, 1, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 1u);

    ASSERT_EQ(bd_store_audit_pushed(db_, kept.id, &err), 0) << err;
    ASSERT_EQ(bd_store_audit_pending(db_, 100, &rows, &err), 0) << err;
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].id, later.id);
    ASSERT_EQ(bd_store_audit_list(db_, 0, INT64_MAX, 100, &rows, &err), 0) << err;
    EXPECT_EQ(rows.size(), 3u) << "pushing never removes a row";
}

} // namespace

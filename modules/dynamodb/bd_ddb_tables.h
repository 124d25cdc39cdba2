/*
 * bd_ddb_tables.h: the tables bedrockd uses, their key schemas and TTL attributes,
 * and the two things done with them as a whole: creating them for development
 * (`bedrockctl dynamodb create-tables`) and checking them at start (that each
 * exists, is reachable with these credentials and has the expected keys).
 * Blocking; sync thread, main thread at start, or bedrockctl.
 */
#ifndef BD_DDB_TABLES_H
#define BD_DDB_TABLES_H

#include <string>
#include <vector>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"

struct bd_ddb_table_def_t {
    const char *role;  /* "api_keys", "usage", "cache", "model_map", "limits" */
    std::string name;  /* the resolved table name */
    const char *hash;  /* partition key attribute (type S) */
    const char *range; /* sort key attribute (type S), or null */
    const char *ttl;   /* TTL attribute, or null */
};

/* Every table, in a fixed order. */
std::vector<bd_ddb_table_def_t> bd_ddb_table_defs(const bd_ddb_conf_t *c);

/* Creates every missing table (PAY_PER_REQUEST), waits until each is ACTIVE and
 * turns TTL on where the table has a TTL attribute. Progress lines go to <out>.
 * Returns 0, or -1 with <err>. */
int bd_ddb_tables_create(bd_ddb_client_t *client, const bd_ddb_conf_t *c,
                         std::vector<std::string> *out, std::string *err);

enum bd_ddb_check_e {
    BD_DDB_CHECK_OK = 0,
    BD_DDB_CHECK_WRONG = -1,       /* a table is missing, forbidden or has other keys */
    BD_DDB_CHECK_UNREACHABLE = -2, /* no answer (network, throttling, no credentials yet) */
};

/* DescribeTable on each table the daemon reads and writes. Returns a bd_ddb_check_e;
 * <err> says which table and why. */
int bd_ddb_tables_check(bd_ddb_client_t *client, const bd_ddb_conf_t *c, std::string *err);

#endif

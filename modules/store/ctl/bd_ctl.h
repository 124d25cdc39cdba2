/*
 * bd_ctl.h: what bedrockctl's command files share: the open store, option
 * parsing, dates, and output as a table, JSON or CSV. bedrockctl is a
 * short-lived, single-threaded program; it talks to the daemon only through the
 * SQLite file (WAL), whose changes the daemon picks up within a second.
 */
#ifndef BD_CTL_H
#define BD_CTL_H

#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

#include "modules/store/bd_store.h"

struct sqlite3;

enum {
    BD_CTL_OK = 0,
    BD_CTL_FAILED = 1, /* the command could not be done */
    BD_CTL_USAGE = 2,  /* the command line is wrong */
};

/* Options after a command: --name VALUE or --name=VALUE, and positional words. */
struct bd_ctl_opts_t {
    std::vector<std::string> positional;
    std::vector<std::pair<std::string, std::string>> flags; /* in order; later ones win */
};

/* Splits <args> into <out>; every flag must be in <allowed> (null-terminated,
 * names with their "--"). Returns BD_CTL_OK or BD_CTL_USAGE (message printed). */
int bd_ctl_parse_opts(const std::vector<std::string> &args, const char *const *allowed,
                      bd_ctl_opts_t *out);

/* The value of flag <name>, or null when absent. */
const std::string *bd_ctl_opt(const bd_ctl_opts_t *o, const char *name);

/* Prints "bedrockctl: <msg>" on stderr and returns <rc>. */
int bd_ctl_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Dates: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]Z" (UTC) to epoch ms; -1 if bad. */
int64_t bd_ctl_parse_date(const std::string &s);
/* Epoch ms to "YYYY-MM-DDTHH:MM:SSZ". */
std::string bd_ctl_format_date(int64_t ms);
/* A non-negative integer; -1 if bad. */
int64_t bd_ctl_parse_count(const std::string &s);

/* Output formats. */
enum bd_ctl_format_e { BD_CTL_TABLE, BD_CTL_JSON, BD_CTL_CSV };
/* Parses --format (null = table); -1 if bad. <csv_ok> allows csv. */
int bd_ctl_parse_format(const std::string *s, bool csv_ok);

/* Prints rows under <header> as an aligned table or as CSV. */
void bd_ctl_print_rows(const std::vector<std::string> &header,
                       const std::vector<std::vector<std::string>> &rows, int format);

/* Where a command's keys, models and usage live: the store file, or (with a
 * `dynamodb` block in the conf) the fleet's DynamoDB tables. */
struct bd_ctl_ddb_t;
struct bd_ctl_remote_t;
struct bd_ctl_backend_t {
    sqlite3 *db;       /* the store; null in DynamoDB mode */
    bd_ctl_ddb_t *ddb; /* non-null: DynamoDB mode */
    bd_ctl_remote_t *remote = nullptr; /* non-null: a daemon's admin API (--url) */
};

/* The backend's operations (bd_ctl_backend.cc); the same contracts as the
 * bd_store_* functions of the same names. */
int bd_ctl_keys_load(const bd_ctl_backend_t *b, std::vector<bd_key_t> *out, std::string *err);
int bd_ctl_key_get(const bd_ctl_backend_t *b, const std::string &id, bd_key_t *out, std::string *err);
int bd_ctl_key_insert(const bd_ctl_backend_t *b, const bd_key_t *key, std::string *err);
int bd_ctl_key_update(const bd_ctl_backend_t *b, const bd_key_t *key, std::string *err);
int bd_ctl_models_load(const bd_ctl_backend_t *b, std::vector<bd_store_model_t> *out, std::string *err);
int bd_ctl_model_set(const bd_ctl_backend_t *b, const bd_store_model_t *m, std::string *err);
int bd_ctl_model_unset(const bd_ctl_backend_t *b, const std::string &name, std::string *err);
/* In DynamoDB mode the sums come from the daily aggregates: whole UTC days. */
int bd_ctl_usage_report(const bd_ctl_backend_t *b, int by, int64_t since_ms, int64_t until_ms,
                        std::vector<bd_usage_row_t> *out, std::string *err);

/* The admin API's audit trail: rows go to the fleet's audit table in DynamoDB
 * mode, else the store; a list is oldest first, at most <limit> (the newest) of
 * [since, until) (bd_ctl_audit_ddb.cc). */
int bd_ctl_audit_insert(const bd_ctl_backend_t *b, bd_audit_row_t *row, std::string *err);
int bd_ctl_audit_list(const bd_ctl_backend_t *b, int64_t since_ms, int64_t until_ms, int64_t limit,
                      std::vector<bd_audit_row_t> *out, std::string *err);

/* The commands: <args> are the words after "key", "usage" or "model". */
int bd_ctl_key(const bd_ctl_backend_t *b, const std::vector<std::string> &args);
int bd_ctl_usage(const bd_ctl_backend_t *b, const std::vector<std::string> &args);
int bd_ctl_model(const bd_ctl_backend_t *b, const std::vector<std::string> &args);
/* `audit`: the admin API's audit trail, from the store file, the fleet's
 * DynamoDB audit table or the API. */
int bd_ctl_audit(const bd_ctl_backend_t *b, const std::vector<std::string> &args);

#endif

/*
 * bedrockctl.cc: the admin tool's entry point: global options, finding the store
 * (--store FILE, or the `store` directive of a bedrockd conf read with the
 * daemon's own parser), and dispatch to the key, usage and model commands.
 * Single-threaded; one SQLite connection in WAL mode beside the running daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/bd_conf.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"
#include "modules/store/ctl/bd_ctl_remote.h"

#define BD_CTL_DEFAULT_CONF "/etc/bedrockd/bedrockd.conf"

static const char bd_ctl_usage_text[] =
    "usage: bedrockctl [-c CONF | --store FILE | --url URL --token-file FILE] COMMAND ...\n"
    "\n"
    "  key create --name NAME [--owner O] [--rpm N] [--tpm N] [--concurrency N]\n"
    "             [--models PATTERN,...] [--expires DATE] [--metadata JSON] [--format json]\n"
    "             [--budget-tokens N] [--budget-usd DOLLARS]\n"
    "  key list [--format table|json|csv]\n"
    "  key show ID\n"
    "  key update ID [--name ...] [--owner ...] [--rpm N] [--tpm N] [--concurrency N]\n"
    "             [--models ...] [--expires DATE|never] [--metadata JSON] [--active on|off]\n"
    "             [--budget-tokens N] [--budget-usd DOLLARS]\n"
    "  key revoke ID\n"
    "  key rotate ID [--format json]\n"
    "  usage [--by key|model|day] [--since DATE] [--until DATE] [--format table|json|csv]\n"
    "  model list [--format table|json|csv]\n"
    "  model set NAME ID [--route converse|invoke]\n"
    "  model unset NAME\n"
    "  audit [--since DATE] [--until DATE] [--limit N] [--format table|json|csv]\n"
    "  dynamodb create-tables | check\n"
    "  dynamodb import-keys --from TABLE [--key-attr A] [--name-attr A] [--user-attr A]\n"
    "             [--rpm-attr A] [--active-attr A]\n"
    "\n"
    "With a conf whose dynamodb block is on, key, model, usage and audit work on the\n"
    "fleet's DynamoDB tables instead of the store file. With --url (a daemon's\n"
    "admin_listen) and --token-file (an admin token), key, usage, model and audit go\n"
    "through its admin API.\n"
    "DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC). Without -c or --store the\n"
    "store named by " BD_CTL_DEFAULT_CONF " is used, else " BD_STORE_DEFAULT_PATH ".\n";

/* The `store` directive of <conf> (the last one at the top level wins, as in
 * the daemon), or the default path, and its `dynamodb` block. Returns 0, or -1
 * with a message printed. */
static int
bd_ctl_store_from_conf(const char *conf, std::string *path, bd_ddb_conf_t *ddb)
{
    bd_conf_ctx_t cf;
    cf.getenv = nullptr;
    cf.user = nullptr;
    cf.node = nullptr;
    std::vector<bd_conf_node_t> nodes;
    if (bd_conf_parse_file(&cf, conf, &nodes) != 0) {
        return bd_ctl_fail(-1, "%s", cf.error.c_str());
    }
    std::string err;
    if (bd_ddb_conf_from_nodes(nodes, ddb, &err) != 0) {
        return bd_ctl_fail(-1, "%s", err.c_str());
    }
    *path = BD_STORE_DEFAULT_PATH;
    for (const bd_conf_node_t &n : nodes) {
        if (n.args.size() == 2 && n.args[0] == "store" && !n.block) {
            *path = n.args[1];
        }
    }
    if (*path == "off" && !bd_ddb_conf_on(ddb)) {
        return bd_ctl_fail(-1, "%s: the store is off (\"store off;\")", conf);
    }
    return 0;
}

/* Reads the global options; <*next> is the index of the command word. */
/* The admin token of --token-file, without trailing white space: 0 or -1. */
static int
bd_ctl_read_token(const char *file, std::string *token)
{
    FILE *f = fopen(file, "re");
    if (f == nullptr) {
        return bd_ctl_fail(-1, "--token-file \"%s\": %s", file, strerror(errno));
    }
    char buf[4097];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    token->assign(buf, n < sizeof(buf) ? n : 0);
    while (!token->empty() && strchr(" \t\r\n", token->back()) != nullptr) {
        token->pop_back();
    }
    if (token->empty()) {
        return bd_ctl_fail(-1, "--token-file \"%s\" holds no token", file);
    }
    return 0;
}

static int
bd_ctl_globals(int argc, char **argv, std::string *path, bd_ddb_conf_t *ddb,
               bd_ctl_remote_t *remote, int *next)
{
    const char *conf = nullptr, *token_file = nullptr;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(bd_ctl_usage_text, stdout);
            exit(0);
        }
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("bedrockctl (bedrock-gateway) 0.1.0, store schema %d\n", BD_STORE_SCHEMA_VERSION);
            exit(0);
        }
        if (i + 1 >= argc) {
            return bd_ctl_fail(BD_CTL_USAGE, "option \"%s\" needs a value", argv[i]);
        }
        if (strcmp(argv[i], "-c") == 0) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "--store") == 0) {
            *path = argv[++i];
        } else if (strcmp(argv[i], "--url") == 0) {
            remote->url = argv[++i];
        } else if (strcmp(argv[i], "--token-file") == 0) {
            token_file = argv[++i];
        } else {
            return bd_ctl_fail(BD_CTL_USAGE, "unknown option \"%s\"", argv[i]);
        }
    }
    *next = i;
    if (!path->empty() && conf != nullptr) {
        return bd_ctl_fail(BD_CTL_USAGE, "-c and --store exclude each other");
    }
    if (!remote->url.empty() || token_file != nullptr) {
        if (remote->url.empty() || token_file == nullptr || !path->empty() || conf != nullptr) {
            return bd_ctl_fail(BD_CTL_USAGE, "--url and --token-file go together, without -c "
                                             "or --store");
        }
        while (!remote->url.empty() && remote->url.back() == '/') {
            remote->url.pop_back();
        }
        return bd_ctl_read_token(token_file, &remote->token) == 0 ? BD_CTL_OK : BD_CTL_FAILED;
    }
    if (path->empty()) {
        if (conf == nullptr && access(BD_CTL_DEFAULT_CONF, R_OK) != 0) {
            *path = BD_STORE_DEFAULT_PATH;
        } else if (bd_ctl_store_from_conf(conf ? conf : BD_CTL_DEFAULT_CONF, path, ddb) != 0) {
            return BD_CTL_FAILED;
        }
    }
    return BD_CTL_OK;
}

static int
bd_ctl_command(const bd_ctl_backend_t *b, const std::string &command,
               const std::vector<std::string> &args)
{
    if (command != "key" && command != "usage" && command != "model" && command != "audit") {
        bd_ctl_fail(BD_CTL_USAGE, "unknown command \"%s\"", command.c_str());
        fputs(bd_ctl_usage_text, stderr);
        return BD_CTL_USAGE;
    }
    return command == "key"     ? bd_ctl_key(b, args)
           : command == "usage" ? bd_ctl_usage(b, args)
           : command == "audit" ? bd_ctl_audit(b, args)
                                : bd_ctl_model(b, args);
}

/* The commands on DynamoDB: `dynamodb ...` (any conf with the block, even turned
 * off), and key, model and usage when the block is on. */
static int
bd_ctl_run_ddb(bd_ddb_conf_t *ddb, const std::string &command, const std::vector<std::string> &args)
{
    if (!ddb->seen) {
        return bd_ctl_fail(BD_CTL_USAGE, "dynamodb commands need a conf (-c) with a dynamodb block");
    }
    if (!bd_ddb_conf_on(ddb)) {
        /* `enabled off` (as the container conf has by default) still names the tables */
        ddb->enabled = 1;
        std::string msg;
        const char *m = bd_ddb_conf_resolve(ddb, nullptr, &msg);
        if (m != nullptr) {
            return bd_ctl_fail(BD_CTL_FAILED, "%s", m);
        }
    }
    std::string err;
    bd_ctl_ddb_t *d = bd_ctl_ddb_open(ddb, &err);
    if (d == nullptr) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    bd_ctl_backend_t b = {nullptr, d};
    int rc = command == "dynamodb" ? bd_ctl_dynamodb(d, args) : bd_ctl_command(&b, command, args);
    bd_ctl_ddb_close(d);
    return rc;
}

int
main(int argc, char **argv)
{
    std::string path;
    bd_ddb_conf_t ddb;
    bd_ctl_remote_t remote;
    int next = 0;
    int rc = bd_ctl_globals(argc, argv, &path, &ddb, &remote, &next);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    if (next >= argc) {
        fputs(bd_ctl_usage_text, stderr);
        return BD_CTL_USAGE;
    }
    std::string command = argv[next];
    std::vector<std::string> args(argv + next + 1, argv + argc);
    if (!remote.url.empty()) {
        if (command == "dynamodb") {
            return bd_ctl_fail(BD_CTL_USAGE, "dynamodb commands need a conf (-c), not --url");
        }
        bd_ctl_backend_t b = {nullptr, nullptr, &remote};
        return bd_ctl_command(&b, command, args);
    }
    if (command == "dynamodb" || bd_ddb_conf_on(&ddb)) {
        return bd_ctl_run_ddb(&ddb, command, args);
    }
    if (command != "key" && command != "usage" && command != "model" && command != "audit") {
        bd_ctl_fail(BD_CTL_USAGE, "unknown command \"%s\"", command.c_str());
        fputs(bd_ctl_usage_text, stderr);
        return BD_CTL_USAGE;
    }
    std::string err;
    sqlite3 *db = bd_store_open(path.c_str(), 5000, &err);
    if (db == nullptr) {
        return bd_ctl_fail(BD_CTL_FAILED, "store \"%s\": %s", path.c_str(), err.c_str());
    }
    bd_ctl_backend_t b = {db, nullptr};
    rc = bd_ctl_command(&b, command, args);
    bd_store_close(db);
    return rc;
}

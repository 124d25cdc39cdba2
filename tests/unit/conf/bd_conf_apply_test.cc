/*
 * bd_conf_apply_test.cc: the dispatcher against a small fake module set: a "core"
 * module in main, an "upstream" block with its own struct applied by a block
 * setter, and a second module sharing the main context.
 */
#include <gtest/gtest.h>
#include <stddef.h>

#include "tests/unit/conf/bd_conf_test_util.h"

struct fake_upstream_conf_t {
    std::string name;
    std::string host;
    int64_t port;
    bool tls;
    std::vector<std::string> headers;
    int applied_line; /* cf->node->line seen by a setter */
};

struct fake_main_conf_t {
    int64_t workers;
    bool daemon;
    std::string pid;
    std::vector<std::string> tags;
    uint64_t max_body_bytes;
    int64_t timeout_ms;
    int level;
    std::vector<fake_upstream_conf_t> upstreams;
    int node_line_after_block; /* cf->node->line once the block's children are applied */
};

struct fake_log_conf_t {
    std::string path;
    bool buffered;
};

static const char *fake_set_upstream(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                     const bd_directive_t *d, void *conf);
static const char *fake_set_line(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                 const bd_directive_t *d, void *conf);
static const char *fake_set_refuse(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                   const bd_directive_t *d, void *conf);

static const bd_conf_bounds_t fake_workers_bounds = {1, 64};
static const bd_conf_enum_t fake_levels[] = {{"debug", 0}, {"info", 1}, {"error", 2}, {NULL, 0}};

static const bd_directive_t fake_core_directives[] = {
    {"workers", "main", BD_ARGS_1, bd_conf_set_int, offsetof(fake_main_conf_t, workers),
     &fake_workers_bounds},
    {"daemon", "main", BD_ARGS_1, bd_conf_set_flag, offsetof(fake_main_conf_t, daemon), NULL},
    {"pid", "main", BD_ARGS_1, bd_conf_set_str, offsetof(fake_main_conf_t, pid), NULL},
    {"tags", "main", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_conf_set_str_list,
     offsetof(fake_main_conf_t, tags), NULL},
    {"max_body", "main", BD_ARGS_1, bd_conf_set_size, offsetof(fake_main_conf_t, max_body_bytes),
     NULL},
    {"timeout", "main", BD_ARGS_1, bd_conf_set_duration, offsetof(fake_main_conf_t, timeout_ms),
     NULL},
    {"level", "main", BD_ARGS_1, bd_conf_set_enum, offsetof(fake_main_conf_t, level), fake_levels},
    {"upstream", "main", BD_ARGS_1 | BD_ARGS_BLOCK | BD_ARGS_MULTI, fake_set_upstream, 0, NULL},
    {"refuse", "main upstream", BD_ARGS_0 | BD_ARGS_1, fake_set_refuse, 0, NULL},
    {NULL, NULL, 0, NULL, 0, NULL},
};

static const bd_directive_t fake_upstream_directives[] = {
    {"host", "upstream", BD_ARGS_1, bd_conf_set_str, offsetof(fake_upstream_conf_t, host), NULL},
    {"port", "upstream", BD_ARGS_1, bd_conf_set_int, offsetof(fake_upstream_conf_t, port), NULL},
    {"tls", "upstream", BD_ARGS_1, bd_conf_set_flag, offsetof(fake_upstream_conf_t, tls), NULL},
    {"header", "upstream", BD_ARGS_2 | BD_ARGS_MULTI, bd_conf_set_str_list,
     offsetof(fake_upstream_conf_t, headers), NULL},
    {"mark", "upstream", BD_ARGS_0, fake_set_line, 0, NULL},
    {NULL, NULL, 0, NULL, 0, NULL},
};

static const bd_directive_t fake_log_directives[] = {
    {"access_log", "main", BD_ARGS_1, bd_conf_set_str, offsetof(fake_log_conf_t, path), NULL},
    {"buffered", "main", BD_ARGS_1, bd_conf_set_flag, offsetof(fake_log_conf_t, buffered), NULL},
    {NULL, NULL, 0, NULL, 0, NULL},
};

/* The block setter: one upstream struct per block, its children applied in the
 * "upstream" context; a failure inside is already a complete message. */
static const char *
fake_set_upstream(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                  void *conf)
{
    (void) d;
    fake_main_conf_t *mcf = (fake_main_conf_t *) conf;
    mcf->upstreams.push_back(fake_upstream_conf_t{});
    fake_upstream_conf_t *ucf = &mcf->upstreams.back();
    ucf->name = node->args[1];

    bd_conf_target_t targets[] = {
        {fake_core_directives, conf},
        {fake_upstream_directives, ucf},
        {fake_log_directives, NULL},
    };
    if (bd_conf_apply(cf, node->children, "upstream", targets, 3) != 0) {
        return BD_CONF_ERROR;
    }
    mcf->node_line_after_block = cf->node ? cf->node->line : -1;
    return NULL;
}

static const char *
fake_set_line(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d, void *conf)
{
    (void) d;
    EXPECT_EQ(node, cf->node);
    ((fake_upstream_conf_t *) conf)->applied_line = cf->node->line;
    return NULL;
}

/* Returns a static phrase, or with an argument a message formatted in cf->errbuf. */
static const char *
fake_set_refuse(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                void *conf)
{
    (void) d;
    (void) conf;
    if (node->args.size() == 1) {
        return "is refused";
    }
    cf->errbuf = "refused \"" + node->args[1] + "\"";
    return cf->errbuf.c_str();
}

/* Parses and applies <text> in main; returns the error ("" on success). */
static std::string
fake_apply(const char *text, fake_main_conf_t *mcf, fake_log_conf_t *lcf)
{
    std::vector<bd_conf_node_t> tree;
    bd_conf_ctx_t cf = bd_test_ctx();
    if (bd_conf_parse_string(&cf, text, "t.conf", ".", &tree) != 0) {
        return "parse: " + cf.error;
    }
    /* The upstream table matches nothing in main; it is passed so that its names
     * are known there ("not allowed here" rather than "unknown"). */
    bd_conf_target_t targets[] = {
        {fake_core_directives, mcf},
        {fake_log_directives, lcf},
        {fake_upstream_directives, NULL},
    };
    if (bd_conf_apply(&cf, tree, "main", targets, 3) != 0) {
        return cf.error;
    }
    EXPECT_EQ(nullptr, cf.node);
    return "";
}

TEST(ConfApply, FillsEveryModulesStruct)
{
    fake_main_conf_t mcf{};
    fake_log_conf_t lcf{};
    ASSERT_EQ("", fake_apply("workers 4;\n"
                             "daemon on;\n"
                             "pid /run/b.pid;\n"
                             "tags a b;\n"
                             "tags c;\n"
                             "max_body 32m;\n"
                             "timeout 1m30s;\n"
                             "level error;\n"
                             "access_log /var/log/a.log;\n"
                             "buffered off;\n"
                             "upstream one {\n"
                             "    host example.com;\n"
                             "    port 443;\n"
                             "    tls on;\n"
                             "    header x-a 1;\n"
                             "    header x-b 2;\n"
                             "    mark;\n"
                             "}\n"
                             "upstream two { host b; }\n",
                             &mcf, &lcf));
    EXPECT_EQ(4, mcf.workers);
    EXPECT_TRUE(mcf.daemon);
    EXPECT_EQ("/run/b.pid", mcf.pid);
    EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}), mcf.tags);
    EXPECT_EQ(32u * 1024 * 1024, mcf.max_body_bytes);
    EXPECT_EQ(90000, mcf.timeout_ms);
    EXPECT_EQ(2, mcf.level);
    EXPECT_EQ("/var/log/a.log", lcf.path);
    EXPECT_FALSE(lcf.buffered);
    ASSERT_EQ(2u, mcf.upstreams.size());
    const fake_upstream_conf_t &u = mcf.upstreams[0];
    EXPECT_EQ("one", u.name);
    EXPECT_EQ("example.com", u.host);
    EXPECT_EQ(443, u.port);
    EXPECT_TRUE(u.tls);
    EXPECT_EQ((std::vector<std::string>{"x-a", "1", "x-b", "2"}), u.headers);
    EXPECT_EQ(17, u.applied_line);
    EXPECT_EQ("two", mcf.upstreams[1].name);
    EXPECT_EQ("b", mcf.upstreams[1].host);
    /* The nested apply gives the block's own node back to its setter. */
    EXPECT_EQ(19, mcf.node_line_after_block);
}

TEST(ConfApply, DuplicatesAreCheckedPerApplyCall)
{
    /* "host" once in each of two blocks is fine: each block is its own apply call. */
    fake_main_conf_t mcf{};
    fake_log_conf_t lcf{};
    EXPECT_EQ("", fake_apply("upstream a { host x; }\nupstream b { host y; }\n", &mcf, &lcf));
}

struct fake_broken_t {
    const char *text;
    const char *error;
};

static const fake_broken_t fake_broken[] = {
    {"nope 1;", "t.conf:1: unknown directive \"nope\""},
    {"workers 1;\n\nhost x;", "t.conf:3: \"host\" directive is not allowed here"},
    {"upstream u {\n    access_log x;\n}", "t.conf:2: \"access_log\" directive is not allowed here"},
    {"upstream u {\n    nope;\n}", "t.conf:2: unknown directive \"nope\""},
    {"workers;", "t.conf:1: invalid number of arguments in \"workers\" directive"},
    {"workers 1 2;", "t.conf:1: invalid number of arguments in \"workers\" directive"},
    {"tags;", "t.conf:1: invalid number of arguments in \"tags\" directive"},
    {"upstream u {\n header a;\n}", "t.conf:2: invalid number of arguments in \"header\" directive"},
    {"upstream u {\n header a b c;\n}",
     "t.conf:2: invalid number of arguments in \"header\" directive"},
    {"upstream { }", "t.conf:1: invalid number of arguments in \"upstream\" directive"},
    {"workers 1;\nworkers 2;", "t.conf:2: \"workers\" directive is duplicate"},
    {"a_log x;", "t.conf:1: unknown directive \"a_log\""},
    {"access_log x;\n\naccess_log y;", "t.conf:3: \"access_log\" directive is duplicate"},
    {"upstream u {\n  port 1;\n  port 2;\n}", "t.conf:3: \"port\" directive is duplicate"},
    {"upstream u;", "t.conf:1: \"upstream\" directive has no opening \"{\""},
    {"workers 2 { }", "t.conf:1: \"workers\" directive is not terminated by \";\""},
    {"workers 0;", "t.conf:1: \"workers\" directive value must be between 1 and 64"},
    {"workers 65;", "t.conf:1: \"workers\" directive value must be between 1 and 64"},
    {"workers four;", "t.conf:1: invalid value \"four\" in \"workers\" directive"},
    {"workers 99999999999999999999;",
     "t.conf:1: invalid value \"99999999999999999999\" in \"workers\" directive"},
    {"daemon yes;",
     "t.conf:1: invalid value \"yes\" in \"daemon\" directive, it must be \"on\" or \"off\""},
    {"max_body 32x;", "t.conf:1: invalid value \"32x\" in \"max_body\" directive"},
    {"timeout 5y;", "t.conf:1: invalid value \"5y\" in \"timeout\" directive"},
    {"level loud;",
     "t.conf:1: invalid value \"loud\" in \"level\" directive, it must be one of: debug, info, "
     "error"},
    {"upstream u {\n\n  tls maybe;\n}",
     "t.conf:3: invalid value \"maybe\" in \"tls\" directive, it must be \"on\" or \"off\""},
    {"refuse;", "t.conf:1: is refused"},
    {"upstream u {\n  refuse x;\n}", "t.conf:2: refused \"x\""},
};

TEST(ConfApply, BrokenConfs)
{
    for (const fake_broken_t &b : fake_broken) {
        fake_main_conf_t mcf{};
        fake_log_conf_t lcf{};
        EXPECT_EQ(b.error, fake_apply(b.text, &mcf, &lcf)) << "conf: " << b.text;
    }
}

TEST(ConfApply, StopsAtTheFirstError)
{
    fake_main_conf_t mcf{};
    fake_log_conf_t lcf{};
    EXPECT_EQ("t.conf:2: unknown directive \"bad\"",
              fake_apply("workers 3;\nbad;\ndaemon on;\n", &mcf, &lcf));
    EXPECT_EQ(3, mcf.workers);
    EXPECT_FALSE(mcf.daemon);
}

TEST(ConfApply, ErrorFromIncludedFileNamesIt)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "workers 2;\ninclude up.d/*.conf;\n");
    std::string up = dir.write("up.d/a.conf", "upstream a {\n    host x;\n    port -;\n}\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> tree;
    ASSERT_EQ(0, bd_conf_parse_file(&cf, main.c_str(), &tree)) << cf.error;

    fake_main_conf_t mcf{};
    fake_log_conf_t lcf{};
    bd_conf_target_t targets[] = {{fake_core_directives, &mcf}, {fake_log_directives, &lcf}};
    EXPECT_EQ(-1, bd_conf_apply(&cf, tree, "main", targets, 2));
    EXPECT_EQ(up + ":3: invalid value \"-\" in \"port\" directive", cf.error);
}

/* A block with no count bits takes no arguments. */
static const char *
fake_set_nothing(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *)
{
    return NULL;
}

TEST(ConfApply, BareBlockTakesNoArguments)
{
    static const bd_directive_t table[] = {
        {"events", "main", BD_ARGS_BLOCK, fake_set_nothing, 0, NULL},
        {NULL, NULL, 0, NULL, 0, NULL},
    };
    bd_conf_target_t targets[] = {{table, NULL}};
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> tree;
    ASSERT_EQ(0, bd_conf_parse_string(&cf, "events { }", "t.conf", ".", &tree));
    EXPECT_EQ(0, bd_conf_apply(&cf, tree, "main", targets, 1)) << cf.error;

    tree.clear();
    ASSERT_EQ(0, bd_conf_parse_string(&cf, "events x { }", "t.conf", ".", &tree));
    EXPECT_EQ(-1, bd_conf_apply(&cf, tree, "main", targets, 1));
    EXPECT_EQ("t.conf:1: invalid number of arguments in \"events\" directive", cf.error);
}

TEST(ConfApply, ContextListIsMatchedByWholeWords)
{
    static const bd_directive_t table[] = {
        {"x", "mainly upstream", BD_ARGS_0, fake_set_nothing, 0, NULL},
        {NULL, NULL, 0, NULL, 0, NULL},
    };
    bd_conf_target_t targets[] = {{table, NULL}};
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> tree;
    ASSERT_EQ(0, bd_conf_parse_string(&cf, "x;", "t.conf", ".", &tree));
    EXPECT_EQ(-1, bd_conf_apply(&cf, tree, "main", targets, 1));
    EXPECT_EQ("t.conf:1: \"x\" directive is not allowed here", cf.error);
    EXPECT_EQ(0, bd_conf_apply(&cf, tree, "upstream", targets, 1)) << cf.error;
    EXPECT_EQ(0, bd_conf_apply(&cf, tree, "mainly", targets, 1)) << cf.error;
}

/*
 * bd_conf_parse_test.cc: the grammar (words, quotes, escapes, comments, blocks),
 * ${VAR} expansion, include with globs and cycles, and a table of broken files
 * with the exact message and line each must produce.
 */
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/unit/conf/bd_conf_test_util.h"

typedef std::vector<std::string> args_t;

TEST(ConfParse, DirectivesBlocksAndLines)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("worker_threads 4;\n"
                                "\n"
                                "server {\n"
                                "    listen 127.0.0.1:8080;\n"
                                "    location /v1/ {\n"
                                "        auth on; limit 10 20;\n"
                                "    }\n"
                                "}\n"
                                "empty {}\n"
                                "multi\n  line\n  args;\n",
                                &t));
    ASSERT_EQ(4u, t.size());
    EXPECT_EQ((args_t{"worker_threads", "4"}), t[0].args);
    EXPECT_FALSE(t[0].block);
    EXPECT_EQ("t.conf", t[0].file);
    EXPECT_EQ(1, t[0].line);

    const bd_conf_node_t &server = t[1];
    EXPECT_TRUE(server.block);
    EXPECT_EQ(3, server.line);
    ASSERT_EQ(2u, server.children.size());
    EXPECT_EQ((args_t{"listen", "127.0.0.1:8080"}), server.children[0].args);
    EXPECT_EQ(4, server.children[0].line);

    const bd_conf_node_t &loc = server.children[1];
    EXPECT_EQ((args_t{"location", "/v1/"}), loc.args);
    EXPECT_EQ(5, loc.line);
    ASSERT_EQ(2u, loc.children.size());
    EXPECT_EQ((args_t{"auth", "on"}), loc.children[0].args);
    EXPECT_EQ((args_t{"limit", "10", "20"}), loc.children[1].args);
    EXPECT_EQ(6, loc.children[1].line);

    EXPECT_TRUE(t[2].block);
    EXPECT_TRUE(t[2].children.empty());
    EXPECT_EQ((args_t{"multi", "line", "args"}), t[3].args);
    EXPECT_EQ(10, t[3].line);
}

TEST(ConfParse, SeparatorsNeedNoSpaces)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a{b 1;c{d;}}e;", &t));
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"a"}), t[0].args);
    ASSERT_EQ(2u, t[0].children.size());
    EXPECT_EQ((args_t{"b", "1"}), t[0].children[0].args);
    EXPECT_EQ((args_t{"d"}), t[0].children[1].children[0].args);
    EXPECT_EQ((args_t{"e"}), t[1].args);
}

TEST(ConfParse, Comments)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("# leading comment\n"
                                "a 1; # trailing } { ; \"\n"
                                "b c#d \"#e\";  # a word may contain #, a quote may too\n"
                                "#last line without newline",
                                &t));
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"a", "1"}), t[0].args);
    EXPECT_EQ((args_t{"b", "c#d", "#e"}), t[1].args);
    EXPECT_EQ(3, t[1].line);
}

TEST(ConfParse, DoubleQuotesAndEscapes)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a \"x y\" \"\" \"q\\\"q\" \"s\\'s\" \"b\\\\s\" \"n\\nt\\tr\\r\";\n"
                                "b \"a;b{c}#d\" \"keep\\.dot\" \"\\${PORT}\";\n",
                                &t));
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"a", "x y", "", "q\"q", "s's", "b\\s", "n\nt\tr\r"}), t[0].args);
    EXPECT_EQ((args_t{"b", "a;b{c}#d", "keep\\.dot", "${PORT}"}), t[1].args);
}

TEST(ConfParse, SingleQuotes)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a 'x y' '' 'it\\'s' 'b\\\\s' 'raw\\n' '\"' '${PORT}' '$x';", &t));
    ASSERT_EQ(1u, t.size());
    EXPECT_EQ((args_t{"a", "x y", "", "it's", "b\\s", "raw\\n", "\"", "${PORT}", "$x"}),
              t[0].args);
}

TEST(ConfParse, QuotedDirectiveNameAndBlock)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("\"loc ation\" '/a b' { \"x\" \"}\"; }", &t));
    ASSERT_EQ(1u, t.size());
    EXPECT_EQ((args_t{"loc ation", "/a b"}), t[0].args);
    ASSERT_EQ(1u, t[0].children.size());
    EXPECT_EQ((args_t{"x", "}"}), t[0].children[0].args);
}

TEST(ConfParse, EnvExpansion)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("listen ${HOST}:${PORT};\n"
                                "a ${NOPE:-9090} ${EMPTY:-dflt} ${PORT:-1} x${EMPTY}y;\n"
                                "b \"${SPACED} ${QUOTE}\" ${SPACED};\n"
                                "c '${PORT}' $remote_addr $ a$b ${NOPE:-} ${NOPE:-a b};\n"
                                "d ${DOLLAR};\n",
                                &t));
    ASSERT_EQ(5u, t.size());
    EXPECT_EQ((args_t{"listen", "127.0.0.1:8080"}), t[0].args);
    EXPECT_EQ((args_t{"a", "9090", "dflt", "8080", "xy"}), t[1].args);
    /* An expanded value is never split or re-lexed. */
    EXPECT_EQ((args_t{"b", "a b say \"hi\"; {x}", "a b"}), t[2].args);
    EXPECT_EQ((args_t{"c", "${PORT}", "$remote_addr", "$", "a$b", "", "a b"}), t[3].args);
    EXPECT_EQ((args_t{"d", "${PORT}"}), t[4].args);
}

TEST(ConfParse, EnvUnsetIsAnErrorWithFileAndLine)
{
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ("t.conf:3: environment variable \"NOPE\" is not set",
              bd_test_parse("a;\nb {\n  c \"x ${NOPE}\";\n}\n", &t));
}

TEST(ConfParse, ProcessEnvironmentWhenNoGetenvIsGiven)
{
    setenv("BD_CONF_TEST_VAR", "from-env", 1);
    bd_conf_ctx_t cf{};
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ(0, bd_conf_parse_string(&cf, "a ${BD_CONF_TEST_VAR};", "t.conf", ".", &t));
    EXPECT_EQ((args_t{"a", "from-env"}), t[0].args);
    unsetenv("BD_CONF_TEST_VAR");
}

TEST(ConfParse, CrlfLineEndings)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a 1;\r\nb {\r\n c 2;\r\n}\r\n", &t));
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"a", "1"}), t[0].args);
    EXPECT_EQ(3, t[1].children[0].line);
}

/* --- include --- */

TEST(ConfInclude, GlobIsRelativeToTheIncludingFileAndSorted)
{
    bd_test_dir_t dir;
    ASSERT_FALSE(dir.path.empty());
    std::string main = dir.write("etc/main.conf", "first;\n"
                                                  "include conf.d/*.conf;\n"
                                                  "server {\n"
                                                  "    include server.d/*.conf;\n"
                                                  "}\n"
                                                  "last;\n");
    dir.write("etc/conf.d/b.conf", "b 2;\n");
    dir.write("etc/conf.d/a.conf", "\n\na 1;\ninclude ../extra/x.conf;\n");
    dir.write("etc/conf.d/ignored.txt", "not conf;\n");
    dir.write("etc/extra/x.conf", "x 3;\n");
    dir.write("etc/server.d/listen.conf", "listen 1;\nlisten 2;\n");

    /* The working directory must not matter. */
    char cwd[4096];
    ASSERT_NE(nullptr, getcwd(cwd, sizeof(cwd)));
    ASSERT_EQ(0, chdir("/"));
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    int rc = bd_conf_parse_file(&cf, main.c_str(), &t);
    ASSERT_EQ(0, chdir(cwd));
    ASSERT_EQ(0, rc) << cf.error;

    ASSERT_EQ(6u, t.size());
    EXPECT_EQ((args_t{"first"}), t[0].args);
    EXPECT_EQ((args_t{"a", "1"}), t[1].args);
    EXPECT_EQ(dir.path + "/etc/conf.d/a.conf", t[1].file);
    EXPECT_EQ(3, t[1].line);
    EXPECT_EQ((args_t{"x", "3"}), t[2].args);
    EXPECT_EQ(dir.path + "/etc/conf.d/../extra/x.conf", t[2].file);
    EXPECT_EQ((args_t{"b", "2"}), t[3].args);
    EXPECT_EQ((args_t{"server"}), t[4].args);
    ASSERT_EQ(2u, t[4].children.size());
    EXPECT_EQ((args_t{"listen", "2"}), t[4].children[1].args);
    EXPECT_EQ(2, t[4].children[1].line);
    EXPECT_EQ((args_t{"last"}), t[5].args);
    EXPECT_EQ(main, t[5].file);
    EXPECT_EQ(6, t[5].line);
}

TEST(ConfInclude, FromStringUsesBaseDirAndAbsolutePathsWork)
{
    bd_test_dir_t dir;
    std::string abs = dir.write("abs.conf", "abs 1;\n");
    dir.write("rel.conf", "rel 1;\n");
    std::string text = "include rel.conf;\ninclude " + abs + ";\ninclude none.d/*.conf;\n";
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse(text.c_str(), &t, dir.path.c_str()));
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"rel", "1"}), t[0].args);
    EXPECT_EQ((args_t{"abs", "1"}), t[1].args);
}

TEST(ConfInclude, PatternIsExpanded)
{
    bd_test_dir_t dir;
    dir.write("8080.conf", "port_file;\n");
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("include ${PORT}.conf;", &t, dir.path.c_str()));
    ASSERT_EQ(1u, t.size());
    EXPECT_EQ((args_t{"port_file"}), t[0].args);
}

TEST(ConfInclude, MissingPlainPathIsAnError)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "a;\ninclude missing.conf;\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, main.c_str(), &t));
    EXPECT_EQ(main + ":2: open() \"" + dir.path + "/missing.conf\" failed (No such file or "
                                                  "directory)",
              cf.error);
    EXPECT_TRUE(t.empty());
}

TEST(ConfInclude, MissingTopFile)
{
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, "/nonexistent/bd/bedrockd.conf", &t));
    EXPECT_EQ("open() \"/nonexistent/bd/bedrockd.conf\" failed (No such file or directory)",
              cf.error);
}

TEST(ConfInclude, ErrorInIncludedFileNamesThatFile)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "include sub/*.conf;\n");
    std::string sub = dir.write("sub/bad.conf", "ok;\nbroken\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, main.c_str(), &t));
    EXPECT_EQ(sub + ":2: unexpected end of file, expecting \";\" or \"}\"", cf.error);
}

TEST(ConfInclude, IncludedFileMustBeBalanced)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "server {\n    include half.conf;\n}\n");
    std::string half = dir.write("half.conf", "a;\n}\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, main.c_str(), &t));
    EXPECT_EQ(half + ":2: unexpected \"}\"", cf.error);
}

TEST(ConfInclude, CycleIsDetected)
{
    bd_test_dir_t dir;
    std::string a = dir.write("a.conf", "x;\ninclude b.conf;\n");
    std::string b = dir.write("b.conf", "y;\n\ninclude ./a.conf;\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, a.c_str(), &t));
    EXPECT_EQ(b + ":3: include cycle: \"" + a + "\" -> \"" + b + "\" -> \"" + dir.path
                  + "/./a.conf\"",
              cf.error);
}

TEST(ConfInclude, SelfIncludeThroughGlob)
{
    bd_test_dir_t dir;
    std::string a = dir.write("a.conf", "include *.conf;\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, a.c_str(), &t));
    EXPECT_EQ(a + ":1: include cycle: \"" + a + "\" -> \"" + a + "\"", cf.error);
}

TEST(ConfInclude, SameFileTwiceIsNotACycle)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "a { include c.conf; }\nb { include c.conf; }\n");
    dir.write("c.conf", "common 1;\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ(0, bd_conf_parse_file(&cf, main.c_str(), &t)) << cf.error;
    ASSERT_EQ(2u, t.size());
    EXPECT_EQ((args_t{"common", "1"}), t[0].children[0].args);
    EXPECT_EQ((args_t{"common", "1"}), t[1].children[0].args);
}

TEST(ConfInclude, DirectoryMatchedByGlobIsAnError)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "include d/*;\n");
    dir.write("d/sub/x.conf", "x;\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_file(&cf, main.c_str(), &t));
    EXPECT_EQ(main + ":1: read() \"" + dir.path + "/d/sub\" failed (Is a directory)", cf.error);
}

/* --- broken files: exact message and line --- */

struct bd_broken_t {
    const char *text;
    const char *error;
};

static const bd_broken_t bd_broken[] = {
    {"}", "t.conf:1: unexpected \"}\""},
    {"a b;\n}\n", "t.conf:2: unexpected \"}\""},
    {"a {\n}\n}\n", "t.conf:3: unexpected \"}\""},
    {"a {\n    b;\n", "t.conf:2: unexpected end of file, expecting \"}\""},
    {"a {\n b {\n  c;\n }\n", "t.conf:4: unexpected end of file, expecting \"}\""},
    {"a {", "t.conf:1: unexpected end of file, expecting \"}\""},
    {"a b", "t.conf:1: unexpected end of file, expecting \";\" or \"}\""},
    {"a;\nb c\n\n# comment\n", "t.conf:2: unexpected end of file, expecting \";\" or \"}\""},
    {"a {\n    b c\n}\n", "t.conf:2: \"b\" directive is not terminated by \";\""},
    {";", "t.conf:1: unexpected \";\""},
    {"a;\n\n  ;\n", "t.conf:3: unexpected \";\""},
    {"a;\n{ b; }\n", "t.conf:2: unexpected \"{\""},
    {"a \"b;\n", "t.conf:1: unterminated quote"},
    {"x;\na 'b;\n", "t.conf:2: unterminated quote"},
    {"a \"x\ny\";\n", "t.conf:1: unterminated quote"},
    {"a\n\"b", "t.conf:2: unterminated quote"},
    {"a \"b\\\";\n", "t.conf:1: unterminated quote"},
    {"a { b \"}\n", "t.conf:1: unterminated quote"},
    {"a \"b\"c;", "t.conf:1: unexpected \"c\" after quoted string"},
    {"a 'b'#c;", "t.conf:1: unexpected \"#\" after quoted string"},
    {"a;\n\nb ${NOPE};", "t.conf:3: environment variable \"NOPE\" is not set"},
    {"a ${PORT;\n", "t.conf:1: unterminated \"${\""},
    {"a \"${PORT\";\n", "t.conf:1: unterminated \"${\""},
    {"a ${1X};", "t.conf:1: invalid variable reference \"${1X}\""},
    {"a ${};", "t.conf:1: invalid variable reference \"${}\""},
    {"a ${X:default};", "t.conf:1: invalid variable reference \"${X:default}\""},
    {"a ${X-y};", "t.conf:1: invalid variable reference \"${X-y}\""},
    {"include;", "t.conf:1: invalid number of arguments in \"include\" directive"},
    {"a;\ninclude a b;", "t.conf:2: invalid number of arguments in \"include\" directive"},
    {"include x { }", "t.conf:1: \"include\" directive is not terminated by \";\""},
    {"s {\n  include missing.conf;\n}",
     "t.conf:2: open() \"/nonexistent-bd-dir/missing.conf\" failed (No such file or directory)"},
};

TEST(ConfBroken, EachGivesItsMessageAndLine)
{
    for (const bd_broken_t &b : bd_broken) {
        std::vector<bd_conf_node_t> t;
        EXPECT_EQ(b.error, bd_test_parse(b.text, &t, "/nonexistent-bd-dir")) << "conf: " << b.text;
        EXPECT_TRUE(t.empty()) << "conf: " << b.text;
    }
}

TEST(ConfBroken, DeepNestingIsRefused)
{
    std::string deep;
    for (int i = 0; i < 65; i++) {
        deep += "a {\n";
    }
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ("t.conf:65: blocks are nested more than 64 deep", bd_test_parse(deep.c_str(), &t));

    std::string ok;
    for (int i = 0; i < 64; i++) {
        ok += "a {";
    }
    ok += std::string(64, '}');
    EXPECT_EQ("", bd_test_parse(ok.c_str(), &t));
}

TEST(ConfBroken, ErrorResetsBetweenCalls)
{
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    EXPECT_EQ(-1, bd_conf_parse_string(&cf, "}", "t.conf", ".", &t));
    EXPECT_FALSE(cf.error.empty());
    EXPECT_EQ(0, bd_conf_parse_string(&cf, "a;", "t.conf", ".", &t));
    EXPECT_TRUE(cf.error.empty());
    EXPECT_EQ(1u, t.size());
}

/*
 * bd_conf_print_test.cc: the -T printer: its layout, quoting only where needed,
 * and the round trip (parse, print, parse again gives an equal tree).
 */
#include <gtest/gtest.h>

#include "tests/unit/conf/bd_conf_test_util.h"

TEST(ConfPrint, Layout)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a 1;server{listen 80; location /v1/ { auth on; } e { } }z;", &t));
    std::string out;
    bd_conf_print(t, &out);
    EXPECT_EQ("a 1;\n"
              "server {\n"
              "    listen 80;\n"
              "    location /v1/ {\n"
              "        auth on;\n"
              "    }\n"
              "    e {\n"
              "    }\n"
              "}\n"
              "z;\n",
              out);
}

TEST(ConfPrint, QuotesOnlyWhenNeeded)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("a plain/word:1 $remote_addr a\"b c#d x\\y 'sp ace' '' ';' '{' '}'"
                                " '#x' '\"q' \"'s\" '${X}' 'tab\\there' \"nl\\n\" \"a\\\\b c\";",
                                &t));
    std::string out;
    bd_conf_print(t, &out);
    EXPECT_EQ("a plain/word:1 $remote_addr a\"b c#d x\\y \"sp ace\" \"\" \";\" \"{\" \"}\" \"#x\" "
              "\"\\\"q\" \"'s\" \"\\${X}\" tab\\there \"nl\\n\" \"a\\\\b c\";\n",
              out);
}

/* Parses <text>, prints it, parses the print and checks the trees are equal and
 * that printing again is stable. */
static void
print_round_trip(const char *text)
{
    std::vector<bd_conf_node_t> first, second;
    ASSERT_EQ("", bd_test_parse(text, &first)) << text;
    std::string printed;
    bd_conf_print(first, &printed);

    /* The printed text must never need the environment it was expanded from. */
    bd_conf_ctx_t cf{};
    cf.getenv = [](const char *) -> const char * { return NULL; };
    ASSERT_EQ(0, bd_conf_parse_string(&cf, printed.c_str(), "printed.conf", ".", &second))
        << cf.error << "\n" << printed;
    EXPECT_TRUE(bd_test_tree_equal(first, second)) << text << "\n---\n" << printed;

    std::string again;
    bd_conf_print(second, &again);
    EXPECT_EQ(printed, again);
}

TEST(ConfPrint, RoundTrip)
{
    print_round_trip("worker_threads auto;\n"
                     "include_like conf.d/*.conf;\n"
                     "server {\n"
                     "    listen 127.0.0.1:${PORT:-8080};\n"
                     "    location /v1/ {\n"
                     "        auth on;\n"
                     "        header X-A \"v; {w}\";\n"
                     "        empty { }\n"
                     "    }\n"
                     "}\n");
    print_round_trip("a \"\" '' \"x y\" \"q\\\"q\" 's\\'s' \"b\\\\s\" \"n\\nt\\tr\\r\";");
    print_round_trip("a '${PORT}' \"\\${HOST}\" ${QUOTE} ${SPACED} ${DOLLAR} $x $ '$' '${';");
    print_round_trip("a '#' '#x' x#y \"a\\\"b\" a\"b a'b \"'\" '\"' x\\ \\;");
    print_round_trip("\"odd name\" 1 { \"}\" \"{\" \";\"; '' { } }");
    print_round_trip("a \"\x01\x7f\xc3\xa9 ctl\";");
}

TEST(ConfPrint, RoundTripOfIncludedFilesFlattens)
{
    bd_test_dir_t dir;
    std::string main = dir.write("main.conf", "a;\ninclude d/*.conf;\nz { include d/*.conf; }\n");
    dir.write("d/1.conf", "one 'x y';\n");
    dir.write("d/2.conf", "two { three; }\n");
    bd_conf_ctx_t cf = bd_test_ctx();
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ(0, bd_conf_parse_file(&cf, main.c_str(), &t)) << cf.error;
    std::string out;
    bd_conf_print(t, &out);
    EXPECT_EQ("a;\n"
              "one \"x y\";\n"
              "two {\n"
              "    three;\n"
              "}\n"
              "z {\n"
              "    one \"x y\";\n"
              "    two {\n"
              "        three;\n"
              "    }\n"
              "}\n",
              out);
}

TEST(ConfPrint, Empty)
{
    std::vector<bd_conf_node_t> t;
    ASSERT_EQ("", bd_test_parse("# nothing\n", &t));
    EXPECT_TRUE(t.empty());
    std::string out;
    bd_conf_print(t, &out);
    EXPECT_EQ("", out);
}

/*
 * bd_docs_test.cc: one truth for directives. Walks the module list bedrockd is
 * built with (bd_modules.cc, compiled in) and checks that every directive of
 * every module's table is documented in conf/bedrockd.conf and in
 * man/bedrockd.conf.5, and that the man page documents no directive the code
 * does not have. Single-threaded; reads the source tree at BD_SOURCE_DIR.
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <string.h>

#include <set>
#include <string>
#include <vector>

#include "core/bd_module.h"

#ifndef BD_SOURCE_DIR
#error "BD_SOURCE_DIR must name the source tree"
#endif

namespace {

struct bd_docs_directive_t {
    std::string module;
    std::string name;
    std::string contexts;
};

/* Reads <path> into lines; false when it cannot be read. */
static bool
bd_docs_read_lines(const std::string &path, std::vector<std::string> *lines)
{
    FILE *f = fopen(path.c_str(), "re");
    if (f == nullptr) {
        return false;
    }
    std::string cur;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') {
            lines->push_back(cur);
            cur.clear();
        } else {
            cur.push_back((char)c);
        }
    }
    if (!cur.empty()) {
        lines->push_back(cur);
    }
    fclose(f);
    return true;
}

static bool
bd_docs_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The directive a conf line shows, commented out or not: optional blanks, an
 * optional '#', blanks, then a name followed by a blank, ';' or '{'. Empty when
 * the line shows none. */
static std::string
bd_docs_conf_line_name(const std::string &line)
{
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    if (i < line.size() && line[i] == '#') {
        i++;
    }
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    size_t start = i;
    while (i < line.size() && bd_docs_name_char(line[i])) {
        i++;
    }
    if (i == start || i == line.size()) {
        return "";
    }
    char next = line[i];
    if (next != ' ' && next != '\t' && next != ';' && next != '{') {
        return "";
    }
    return line.substr(start, i - start);
}

/* The directive an mdoc list item documents: ".It Ic NAME ...". Empty otherwise. */
static std::string
bd_docs_man_item_name(const std::string &line)
{
    static const char prefix[] = ".It Ic ";
    if (line.compare(0, sizeof(prefix) - 1, prefix) != 0) {
        return "";
    }
    size_t start = sizeof(prefix) - 1;
    size_t i = start;
    while (i < line.size() && bd_docs_name_char(line[i])) {
        i++;
    }
    if (i == start || (i < line.size() && line[i] != ' ')) {
        return "";
    }
    return line.substr(start, i - start);
}

static std::set<std::string>
bd_docs_names(const std::vector<std::string> &lines, std::string (*pick)(const std::string &))
{
    std::set<std::string> names;
    for (const std::string &line : lines) {
        std::string name = pick(line);
        if (!name.empty()) {
            names.insert(name);
        }
    }
    return names;
}

/* Every directive of every module, in module order. */
static std::vector<bd_docs_directive_t>
bd_docs_code_directives(void)
{
    std::vector<bd_docs_directive_t> out;
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        const bd_directive_t *d = bd_modules[i]->directives;
        for (; d != nullptr && d->name != nullptr; d++) {
            out.push_back({bd_modules[i]->name, d->name, d->contexts});
        }
    }
    return out;
}

class DocsTest : public ::testing::Test {
protected:
    std::vector<bd_docs_directive_t> code;
    std::vector<std::string> conf_lines;
    std::vector<std::string> man_lines;

    void SetUp() override
    {
        bd_modules_init();
        code = bd_docs_code_directives();
        std::string src = BD_SOURCE_DIR;
        ASSERT_TRUE(bd_docs_read_lines(src + "/conf/bedrockd.conf", &conf_lines))
            << "cannot read " << src << "/conf/bedrockd.conf";
        ASSERT_TRUE(bd_docs_read_lines(src + "/man/bedrockd.conf.5", &man_lines))
            << "cannot read " << src << "/man/bedrockd.conf.5";
    }
};

TEST(DocsMatch, ConfLineShowsADirectiveWhetherCommentedOutOrNot)
{
    EXPECT_EQ(bd_docs_conf_line_name("listen 127.0.0.1:8080;"), "listen");
    EXPECT_EQ(bd_docs_conf_line_name("    region  us-east-1;"), "region");
    EXPECT_EQ(bd_docs_conf_line_name("# pid               /run/bedrockd/bedrockd.pid;"), "pid");
    EXPECT_EQ(bd_docs_conf_line_name("#   id BEDROCK_ID;   model id"), "id");
    EXPECT_EQ(bd_docs_conf_line_name("bedrock {"), "bedrock");
    EXPECT_EQ(bd_docs_conf_line_name("\t#\tusage;"), "usage");
    EXPECT_EQ(bd_docs_conf_line_name("# identity matters"), "identity");
    EXPECT_EQ(bd_docs_conf_line_name("# listen_backlog: no"), "");
    EXPECT_EQ(bd_docs_conf_line_name("## listen x;"), "");
    EXPECT_EQ(bd_docs_conf_line_name("# see listen x;"), "see");
    EXPECT_EQ(bd_docs_conf_line_name("listen"), "");
    EXPECT_EQ(bd_docs_conf_line_name(""), "");
}

TEST(DocsMatch, ManItemNamesTheDirectiveAfterItIc)
{
    EXPECT_EQ(bd_docs_man_item_name(".It Ic listen Ar address"), "listen");
    EXPECT_EQ(bd_docs_man_item_name(".It Ic usage Cm on | off"), "usage");
    EXPECT_EQ(bd_docs_man_item_name(".It Ic model_passthrough"), "model_passthrough");
    EXPECT_EQ(bd_docs_man_item_name(".It Fl c Ar file"), "");
    EXPECT_EQ(bd_docs_man_item_name("It Ic listen"), "");
    EXPECT_EQ(bd_docs_man_item_name(".It Ic shutdown_delay , Ic x"), "shutdown_delay");
}

TEST_F(DocsTest, ModuleListHasTheCoreDirectives)
{
    std::set<std::string> names;
    for (const bd_docs_directive_t &d : code) {
        names.insert(d.name);
    }
    /* Guards against a walk that finds nothing and so checks nothing. */
    EXPECT_GT(code.size(), 20u);
    EXPECT_EQ(names.count("listen"), 1u);
    EXPECT_EQ(names.count("bedrock"), 1u);
}

TEST_F(DocsTest, EveryDirectiveIsInTheExampleConf)
{
    std::set<std::string> documented = bd_docs_names(conf_lines, bd_docs_conf_line_name);
    for (const bd_docs_directive_t &d : code) {
        EXPECT_EQ(documented.count(d.name), 1u)
            << "directive \"" << d.name << "\" of module " << d.module << " (context "
            << d.contexts << ") is not in conf/bedrockd.conf: add a line, commented out if "
            << "need be, that starts with it";
    }
}

TEST_F(DocsTest, EveryDirectiveIsInTheManPage)
{
    std::set<std::string> documented = bd_docs_names(man_lines, bd_docs_man_item_name);
    for (const bd_docs_directive_t &d : code) {
        EXPECT_EQ(documented.count(d.name), 1u)
            << "directive \"" << d.name << "\" of module " << d.module << " (context "
            << d.contexts << ") has no \".It Ic " << d.name << "\" in man/bedrockd.conf.5";
    }
}

TEST_F(DocsTest, TheManPageDocumentsOnlyDirectivesTheCodeHas)
{
    std::set<std::string> names;
    for (const bd_docs_directive_t &d : code) {
        names.insert(d.name);
    }
    for (size_t i = 0; i < man_lines.size(); i++) {
        std::string name = bd_docs_man_item_name(man_lines[i]);
        if (!name.empty()) {
            EXPECT_EQ(names.count(name), 1u)
                << "man/bedrockd.conf.5:" << i + 1 << " documents \"" << name
                << "\", which no module's directive table has";
        }
    }
}

TEST_F(DocsTest, TheManPageDocumentsEachDirectiveOnce)
{
    std::set<std::string> seen;
    for (size_t i = 0; i < man_lines.size(); i++) {
        std::string name = bd_docs_man_item_name(man_lines[i]);
        if (!name.empty()) {
            EXPECT_TRUE(seen.insert(name).second)
                << "man/bedrockd.conf.5:" << i + 1 << " documents \"" << name << "\" again";
        }
    }
}

} // namespace

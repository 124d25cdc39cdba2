/*
 * bd_fuzz_conf.cc: fuzz target for the conf parser and printer (core/bd_conf.h). Any text
 * either fails with a "FILE:LINE: message" and leaves the output alone, or parses to a tree
 * whose printed form parses back, with no environment lookup, to the same tree and the same
 * text. Single-threaded, like the parser. Includes resolve inside a private temp dir only.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/bd_conf.h"
#include "tests/fuzz/bd_fuzz.h"

/* "<tmp>/empty": includes resolve here. Its parent, the only other place ".." reaches, is
 * our own temp dir too, and the input may not contain "/" (see below). */
static char bd_fuzz_conf_tmp[64];
static std::string bd_fuzz_conf_base;

static void
bd_fuzz_conf_cleanup(void)
{
    rmdir(bd_fuzz_conf_base.c_str());
    rmdir(bd_fuzz_conf_tmp);
}

static void
bd_fuzz_conf_init(void)
{
    if (!bd_fuzz_conf_base.empty()) {
        return;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(bd_fuzz_conf_tmp, sizeof(bd_fuzz_conf_tmp), "%s/bd-fuzz-conf.XXXXXX",
             tmp != NULL && *tmp != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
    BD_FUZZ_CHECK(mkdtemp(bd_fuzz_conf_tmp) != NULL, "mkdtemp");
    bd_fuzz_conf_base = std::string(bd_fuzz_conf_tmp) + "/empty";
    BD_FUZZ_CHECK(mkdir(bd_fuzz_conf_base.c_str(), 0700) == 0, "mkdir");
    atexit(bd_fuzz_conf_cleanup);
}

/* Fixed values with the characters the printer must quote; none contains "/", so an
 * expansion cannot build a path out of the sandbox either. */
static const char *
bd_fuzz_conf_getenv(const char *name)
{
    static const char *const env[][2] = {
        {"A", "value"},         {"EMPTY", ""},          {"SPACE", "two words"},
        {"QUOTE", "q\"u'o\\te"}, {"BRACE", "{;}"},       {"DOLLAR", "${A}"},
        {"HASH", "#x"},         {"NL", "a\nb\tc\r"},    {"BEDROCKD_PORT", "8080"},
        {"AWS_REGION", "us-west-2"},
    };
    for (const auto &e : env) {
        if (strcmp(name, e[0]) == 0) {
            return e[1];
        }
    }
    return NULL;
}

/* The printed text carries no "${": re-parsing it must not look anything up. */
static const char *
bd_fuzz_conf_getenv_forbidden(const char *name)
{
    fprintf(stderr, "printed conf text looked up ${%s}\n", name);
    bd_fuzz_fail(__FILE__, __LINE__, "environment lookup while re-parsing printed text");
}

static bool
bd_fuzz_conf_same(const std::vector<bd_conf_node_t> &a, const std::vector<bd_conf_node_t> &b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); i++) {
        if (a[i].args != b[i].args || a[i].block != b[i].block ||
            !bd_fuzz_conf_same(a[i].children, b[i].children)) {
            return false;
        }
    }
    return true;
}

/* Every node has a name and a line, and only blocks have children. */
static void
bd_fuzz_conf_check_tree(const std::vector<bd_conf_node_t> &nodes)
{
    for (const bd_conf_node_t &n : nodes) {
        BD_FUZZ_CHECK(!n.args.empty(), "a node without a name");
        BD_FUZZ_CHECK(n.line >= 1, "a node without a line");
        BD_FUZZ_CHECK(n.args[0] != "include", "an include node left in the tree");
        BD_FUZZ_CHECK(n.block || n.children.empty(), "children on a simple directive");
        bd_fuzz_conf_check_tree(n.children);
    }
}

static void
bd_fuzz_conf_reparse(const std::vector<bd_conf_node_t> &nodes)
{
    std::string printed;
    bd_conf_print(nodes, &printed);

    bd_conf_ctx_t cf2 = bd_conf_ctx_t();
    cf2.getenv = bd_fuzz_conf_getenv_forbidden;
    std::vector<bd_conf_node_t> again;
    if (bd_conf_parse_string(&cf2, printed.c_str(), "printed.conf", bd_fuzz_conf_base.c_str(),
                             &again) != 0) {
        fprintf(stderr, "re-parse failed: %s\n--- printed ---\n%s", cf2.error.c_str(),
                printed.c_str());
        bd_fuzz_fail(__FILE__, __LINE__, "printed conf text does not parse");
    }
    BD_FUZZ_CHECK(bd_fuzz_conf_same(nodes, again), "printed conf text parses to another tree");

    std::string printed2;
    bd_conf_print(again, &printed2);
    BD_FUZZ_CHECK(printed == printed2, "printing the re-parsed tree gives other text");
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bd_fuzz_conf_init();

    /* The parser reads a C string; "/" becomes "_" so that no include leaves the sandbox
     * ("/" means nothing else to the lexer). */
    std::string text((const char *) data, size);
    for (char &c : text) {
        c = c == '/' ? '_' : c;
    }

    bd_conf_ctx_t cf = bd_conf_ctx_t();
    cf.getenv = bd_fuzz_conf_getenv;
    std::vector<bd_conf_node_t> out(1);
    out[0].args.push_back("sentinel");
    int rc = bd_conf_parse_string(&cf, text.c_str(), "fuzz.conf", bd_fuzz_conf_base.c_str(), &out);
    if (rc != 0) {
        BD_FUZZ_CHECK(rc == -1, "parse returned neither 0 nor -1");
        BD_FUZZ_CHECK(!cf.error.empty(), "a failed parse without a message");
        BD_FUZZ_CHECK(out.size() == 1 && out[0].args[0] == "sentinel",
                      "a failed parse changed its output");
        return 0;
    }
    BD_FUZZ_CHECK(!out.empty() && out[0].args[0] == "sentinel", "parse replaced its output");
    out.erase(out.begin());
    bd_fuzz_conf_check_tree(out);
    bd_fuzz_conf_reparse(out);
    return 0;
}

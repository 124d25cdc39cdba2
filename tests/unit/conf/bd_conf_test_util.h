/*
 * bd_conf_test_util.h: helpers shared by the conf tests: parse a string with a
 * fake environment, and a temporary directory to hold include trees.
 */
#ifndef BD_CONF_TEST_UTIL_H
#define BD_CONF_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/bd_conf.h"

/* The environment every test sees: a fixed table, never the process's. */
static inline const char *
bd_test_getenv(const char *name)
{
    static const char *const env[][2] = {
        {"PORT", "8080"},
        {"HOST", "127.0.0.1"},
        {"EMPTY", ""},
        {"SPACED", "a b"},
        {"QUOTE", "say \"hi\"; {x}"},
        {"DOLLAR", "${PORT}"},
    };
    for (const auto &e : env) {
        if (strcmp(e[0], name) == 0) {
            return e[1];
        }
    }
    return NULL;
}

static inline bd_conf_ctx_t
bd_test_ctx(void)
{
    bd_conf_ctx_t cf{};
    cf.getenv = bd_test_getenv;
    return cf;
}

/* Parses <text> as "t.conf"; returns the error ("" on success). */
static inline std::string
bd_test_parse(const char *text, std::vector<bd_conf_node_t> *out, const char *base_dir = ".")
{
    bd_conf_ctx_t cf = bd_test_ctx();
    if (bd_conf_parse_string(&cf, text, "t.conf", base_dir, out) != 0) {
        return cf.error.empty() ? std::string("(failed without a message)") : cf.error;
    }
    return "";
}

/* Trees are equal when names, arguments and blocks match; file:line may differ. */
static inline bool
bd_test_tree_equal(const std::vector<bd_conf_node_t> &a, const std::vector<bd_conf_node_t> &b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); i++) {
        if (a[i].args != b[i].args || a[i].block != b[i].block
            || !bd_test_tree_equal(a[i].children, b[i].children)) {
            return false;
        }
    }
    return true;
}

/* A fresh directory under $TMPDIR, removed with everything in it at the end. */
struct bd_test_dir_t {
    std::string path;

    bd_test_dir_t()
    {
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_conf_test.XXXXXX";
        char *p = mkdtemp(&tmpl[0]);
        path = p ? p : "";
    }
    ~bd_test_dir_t()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }

    /* Writes <text> to <rel> under the directory, creating parent directories. */
    std::string write(const std::string &rel, const std::string &text) const
    {
        std::string full = path + "/" + rel;
        std::filesystem::create_directories(std::filesystem::path(full).parent_path());
        FILE *f = fopen(full.c_str(), "w");
        if (f != NULL) {
            fwrite(text.data(), 1, text.size(), f);
            fclose(f);
        }
        return full;
    }
};

#endif

/*
 * bd_credentials_test_util.h: a fake environment (no setenv races), a temp directory
 * for shared files and token files, and an injectable clock for the credential tests.
 */
#ifndef BD_CREDENTIALS_TEST_UTIL_H
#define BD_CREDENTIALS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>

#include "core/aws/bd_credentials.h"

struct bd_test_env_t {
    std::map<std::string, std::string> vars;
    bd_aws_env_t view() { return bd_aws_env_t{lookup, this}; }
    static const char *
    lookup(void *data, const char *name)
    {
        bd_test_env_t *e = (bd_test_env_t *)data;
        auto it = e->vars.find(name);
        return it == e->vars.end() ? nullptr : it->second.c_str();
    }
};

struct bd_test_dir_t {
    std::string path;
    bd_test_dir_t()
    {
        char tmpl[] = "/tmp/bd-cred-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~bd_test_dir_t()
    {
        std::string cmd = "rm -rf '" + path + "'";
        if (system(cmd.c_str()) != 0) {
            fprintf(stderr, "cannot remove %s\n", path.c_str());
        }
    }
    std::string
    write(const std::string &name, const std::string &text)
    {
        std::string p = path + "/" + name;
        FILE *f = fopen(p.c_str(), "wb");
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        return p;
    }
};

struct bd_test_clock_t {
    std::atomic<int64_t> now_ms{0};
    static int64_t
    read(void *data)
    {
        return ((bd_test_clock_t *)data)->now_ms.load();
    }
};

/* 2030-01-01T00:00:00Z, a fixed point for the injected clock. */
static const int64_t BD_TEST_T0 = 1893456000000LL;

#endif

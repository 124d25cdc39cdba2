/*
 * bd_admin_token.cc: admin tokens. The conf never holds a token itself: it
 * names its SHA-256 (sha256:HEX), an environment variable (env:NAME) or a file
 * (file:/path, as Secrets Manager mounts or an init step writes them), and only
 * the SHA-256 is kept in memory. A presented token is hashed and compared with
 * every token in constant time; a file or variable is read again at each reload.
 */
#include "modules/admin/bd_admin_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "modules/store/bd_key.h"

enum { BD_ADMIN_TOKEN_MIN = 16, BD_ADMIN_TOKEN_MAX = 4096 };

/* The token text of file <path> without trailing white space: 0, or -1 with <why>. */
static int
bd_admin_token_read_file(const std::string &path, std::string *out, std::string *why)
{
    FILE *f = fopen(path.c_str(), "re");
    if (f == nullptr) {
        *why = "cannot open \"" + path + "\" (" + strerror(errno) + ")";
        return -1;
    }
    char buf[BD_ADMIN_TOKEN_MAX + 2];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n > BD_ADMIN_TOKEN_MAX) {
        *why = "\"" + path + "\" is longer than a token";
        return -1;
    }
    out->assign(buf, n);
    return 0;
}

/* The token's SHA-256 from <value>: 0, or -1 with <why> (which never holds the token). */
static int
bd_admin_token_hash(bd_conf_ctx_t *cf, const std::string &value, std::string *hash,
                    std::string *why)
{
    std::string text;
    if (value.compare(0, 7, "sha256:") == 0) {
        if (value.size() != 7 + 64 || bd_key_unhex(value.substr(7), hash) != 0) {
            *why = "sha256: wants 64 hex digits";
            return -1;
        }
        return 0;
    }
    if (value.compare(0, 4, "env:") == 0) {
        std::string name = value.substr(4);
        const char *v = cf->getenv ? cf->getenv(name.c_str()) : getenv(name.c_str());
        if (v == nullptr) {
            *why = "environment variable \"" + name + "\" is not set";
            return -1;
        }
        text = v;
    } else if (value.compare(0, 5, "file:") == 0) {
        if (bd_admin_token_read_file(value.substr(5), &text, why) != 0) {
            return -1;
        }
    } else {
        *why = "the value is sha256:HEX, env:NAME or file:PATH (never the token itself)";
        return -1;
    }
    while (!text.empty() && strchr(" \t\r\n", text.back()) != nullptr) {
        text.pop_back();
    }
    if (text.size() < BD_ADMIN_TOKEN_MIN) {
        *why = "the token of " + value + " is shorter than 16 characters";
        return -1;
    }
    bd_key_hash(text.data(), text.size(), hash);
    OPENSSL_cleanse(&text[0], text.size());
    return 0;
}

const char *
bd_admin_set_token(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                   void *conf)
{
    bd_admin_conf_t *c = (bd_admin_conf_t *)conf;
    bd_admin_token_t t;
    t.id = node->args[1];
    const std::string &scope = node->args[3];
    if (scope != "read-only" && scope != "read-write") {
        cf->errbuf = "invalid scope \"" + scope + "\" in \"admin_token\" directive "
                     "(read-only or read-write)";
        return cf->errbuf.c_str();
    }
    t.write = scope == "read-write";
    for (const bd_admin_token_t &o : c->tokens) {
        if (o.id == t.id) {
            cf->errbuf = "duplicate admin token name \"" + t.id + "\"";
            return cf->errbuf.c_str();
        }
    }
    std::string why;
    if (bd_admin_token_hash(cf, node->args[2], &t.hash, &why) != 0) {
        cf->errbuf = "admin token \"" + t.id + "\": " + why;
        return cf->errbuf.c_str();
    }
    c->tokens.push_back(t);
    return nullptr;
}

const bd_admin_token_t *
bd_admin_token_find(const bd_admin_conf_t *c, const std::string &presented)
{
    if (presented.empty() || presented.size() > BD_ADMIN_TOKEN_MAX) {
        return nullptr;
    }
    std::string hash;
    bd_key_hash(presented.data(), presented.size(), &hash);
    const bd_admin_token_t *found = nullptr;
    for (const bd_admin_token_t &t : c->tokens) {
        /* no early exit: the time does not tell which token came close */
        if (CRYPTO_memcmp(t.hash.data(), hash.data(), BD_KEY_HASH_LEN) == 0) {
            found = &t;
        }
    }
    return found;
}

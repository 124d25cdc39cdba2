/*
 * bd_usage_scan.cc: a forward-only JSON skimmer for two fields. It walks the top
 * level of an object, steps into `metadata` only, and skips every other value by
 * matching brackets outside strings. Malformed input ends the scan with what was
 * found so far; the content handler reports the real parse error. Pure.
 */
#include "modules/usage/bd_usage_scan.h"

#include <string.h>

struct bd_usage_cursor_t {
    const char *p;
    const char *end;
};

static void
bd_usage_ws(bd_usage_cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
        c->p++;
    }
}

/* Reads a string at the cursor (on its opening quote). With <out>, decodes the
 * simple escapes (\uXXXX is kept as written). Returns false on malformed input. */
static bool
bd_usage_string(bd_usage_cursor_t *c, std::string *out)
{
    if (c->p >= c->end || *c->p != '"') {
        return false;
    }
    c->p++;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"') {
            return true;
        }
        if (ch == '\\') {
            if (c->p >= c->end) {
                return false;
            }
            char e = *c->p++;
            const char *map = strchr("n\nt\tr\rb\bf\f", e);
            ch = (map != nullptr && e != '\0') ? map[1] : e;
            if (e == 'u' && out != nullptr) {
                out->push_back('\\');
            }
        }
        if (out != nullptr && out->size() < BD_USAGE_USER_MAX) {
            out->push_back(ch);
        }
    }
    return false;
}

/* Skips one value of any kind. */
static bool
bd_usage_skip(bd_usage_cursor_t *c)
{
    bd_usage_ws(c);
    if (c->p >= c->end) {
        return false;
    }
    if (*c->p == '"') {
        return bd_usage_string(c, nullptr);
    }
    if (*c->p != '{' && *c->p != '[') {
        while (c->p < c->end && strchr(",}] \t\r\n", *c->p) == nullptr) {
            c->p++;
        }
        return true;
    }
    int depth = 0;
    while (c->p < c->end) {
        if (*c->p == '"') {
            if (!bd_usage_string(c, nullptr)) {
                return false;
            }
            continue;
        }
        char ch = *c->p++;
        if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && --depth == 0) {
            return true;
        }
    }
    return false;
}

/* Walks the members of the object at the cursor, calling <fn> for each key with
 * the cursor on its value; <fn> consumes the value. */
template <typename F>
static bool
bd_usage_members(bd_usage_cursor_t *c, F fn)
{
    bd_usage_ws(c);
    if (c->p >= c->end || *c->p != '{') {
        return false;
    }
    c->p++;
    for (;;) {
        bd_usage_ws(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return true;
        }
        std::string key;
        if (!bd_usage_string(c, &key)) {
            return false;
        }
        bd_usage_ws(c);
        if (c->p >= c->end || *c->p++ != ':') {
            return false;
        }
        bd_usage_ws(c);
        if (!fn(key, c)) {
            return false;
        }
        bd_usage_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
        }
    }
}

/* A value that is a string goes to <out>; anything else is skipped. */
static bool
bd_usage_take_string(bd_usage_cursor_t *c, std::string *out)
{
    if (c->p < c->end && *c->p == '"') {
        std::string value;
        if (!bd_usage_string(c, &value)) {
            return false;
        }
        out->swap(value);
        return true;
    }
    return bd_usage_skip(c);
}

void
bd_usage_scan_user(const char *body, size_t len, std::string *user)
{
    bd_usage_cursor_t c = {body, body + len};
    std::string meta_user, openai_user;
    bd_usage_members(&c, [&](const std::string &key, bd_usage_cursor_t *v) {
        if (key == "metadata" && v->p < v->end && *v->p == '{') {
            return bd_usage_members(v, [&](const std::string &k, bd_usage_cursor_t *mv) {
                return k == "user_id" ? bd_usage_take_string(mv, &meta_user) : bd_usage_skip(mv);
            });
        }
        if (key == "user") {
            return bd_usage_take_string(v, &openai_user);
        }
        return bd_usage_skip(v);
    });
    *user = !meta_user.empty() ? meta_user : openai_user;
}

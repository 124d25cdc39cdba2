/*
 * bd_conf_set.cc: value parsers (sizes, durations, flags) and the generic setters
 * that write a directive's argument into a conf struct field at d->offset. Main
 * thread only. Invariant: every parser rejects overflow and trailing garbage, and
 * a setter leaves its field untouched when it returns a message.
 */

#include "core/bd_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *bd_conf_msg(bd_conf_ctx_t *cf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats a setter's message into cf->errbuf and returns it. */
static const char *
bd_conf_msg(bd_conf_ctx_t *cf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cf->errbuf = "invalid value";
        return cf->errbuf.c_str();
    }
    cf->errbuf.resize(n + 1);
    va_start(ap, fmt);
    vsnprintf(&cf->errbuf[0], cf->errbuf.size(), fmt, ap);
    va_end(ap);
    cf->errbuf.resize(n);
    return cf->errbuf.c_str();
}

static const char *
bd_conf_invalid(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d)
{
    return bd_conf_msg(cf, "invalid value \"%s\" in \"%s\" directive", node->args[1].c_str(),
                       d->name);
}

/* The dispatcher has checked the count; this guards setters used in odd tables. */
static const char *
bd_conf_need_arg(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d)
{
    if (node->args.size() < 2) {
        return bd_conf_msg(cf, "invalid number of arguments in \"%s\" directive", d->name);
    }
    return NULL;
}

static void *
bd_conf_field(void *conf, const bd_directive_t *d)
{
    return (char *) conf + d->offset;
}

/* Reads decimal digits at *<p> into <v>; fails on no digits or on a value above
 * <max>. */
static int
bd_conf_digits(const char **p, uint64_t max, uint64_t *v)
{
    const char *s = *p;
    uint64_t n = 0;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t digit = (uint64_t) (*s - '0');
        if (n > (max - digit) / 10) {
            return -1;
        }
        n = n * 10 + digit;
    }
    *p = s;
    *v = n;
    return 0;
}

static int
bd_conf_parse_int(const char *s, int64_t *out)
{
    bool negative = *s == '-';
    uint64_t v;

    if (negative) {
        s++;
    }
    /* INT64_MIN has no positive counterpart, so the limit differs by one. */
    uint64_t max = negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    if (bd_conf_digits(&s, max, &v) != 0 || *s != '\0') {
        return -1;
    }
    if (negative) {
        *out = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
    } else {
        *out = (int64_t) v;
    }
    return 0;
}

int
bd_conf_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t v;
    uint64_t unit = 1;

    if (bd_conf_digits(&s, UINT64_MAX, &v) != 0) {
        return -1;
    }
    switch (*s) {
    case '\0':
        break;
    case 'k':
    case 'K':
        unit = 1024;
        s++;
        break;
    case 'm':
    case 'M':
        unit = 1024 * 1024;
        s++;
        break;
    case 'g':
    case 'G':
        unit = 1024 * 1024 * 1024;
        s++;
        break;
    default:
        return -1;
    }
    if (*s != '\0' || v > UINT64_MAX / unit) {
        return -1;
    }
    *bytes = v * unit;
    return 0;
}

/* Units of a duration. In "1h30m" each unit must rank below the one before, so
 * "30m1h" and "1m1m" are rejected; "ms" is tried before "m". */
static const struct {
    const char *suffix;
    int64_t ms;
    int rank;
} bd_conf_time_units[] = {
    {"d", 86400000, 0}, {"h", 3600000, 1}, {"ms", 1, 4}, {"m", 60000, 2}, {"s", 1000, 3},
};

int
bd_conf_parse_duration(const char *s, int64_t *ms)
{
    uint64_t v;
    int64_t total = 0;
    int last_rank = -1;

    const char *bare = s;
    if (bd_conf_digits(&bare, INT64_MAX, &v) == 0 && *bare == '\0') {
        if (v > (uint64_t) (INT64_MAX / 1000)) {
            return -1;
        }
        *ms = (int64_t) v * 1000;
        return 0;
    }
    do {
        if (bd_conf_digits(&s, INT64_MAX, &v) != 0) {
            return -1;
        }
        size_t i = 0, n = sizeof(bd_conf_time_units) / sizeof(bd_conf_time_units[0]);
        for (; i < n; i++) {
            size_t len = strlen(bd_conf_time_units[i].suffix);
            if (strncmp(s, bd_conf_time_units[i].suffix, len) == 0) {
                s += len;
                break;
            }
        }
        if (i == n) {
            return -1;
        }
        int64_t unit = bd_conf_time_units[i].ms;
        int rank = bd_conf_time_units[i].rank;
        if (rank <= last_rank || v > (uint64_t) (INT64_MAX / unit)
            || (int64_t) v * unit > INT64_MAX - total) {
            return -1;
        }
        last_rank = rank;
        total += (int64_t) v * unit;
    } while (*s != '\0');

    *ms = total;
    return 0;
}

int
bd_conf_parse_flag(const char *s, bool *on)
{
    if (strcasecmp(s, "on") == 0) {
        *on = true;
        return 0;
    }
    if (strcasecmp(s, "off") == 0) {
        *on = false;
        return 0;
    }
    return -1;
}

const char *
bd_conf_set_flag(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                 void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);
    bool on;

    if (msg != NULL) {
        return msg;
    }
    if (bd_conf_parse_flag(node->args[1].c_str(), &on) != 0) {
        return bd_conf_msg(cf, "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or "
                               "\"off\"",
                           node->args[1].c_str(), d->name);
    }
    *(bool *) bd_conf_field(conf, d) = on;
    return NULL;
}

const char *
bd_conf_set_str(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);

    if (msg != NULL) {
        return msg;
    }
    *(std::string *) bd_conf_field(conf, d) = node->args[1];
    return NULL;
}

const char *
bd_conf_set_secret(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                   void *conf)
{
    return bd_conf_set_str(cf, node, d, conf);
}

const char *
bd_conf_set_str_list(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                     void *conf)
{
    (void) cf;
    std::vector<std::string> *list = (std::vector<std::string> *) bd_conf_field(conf, d);

    list->insert(list->end(), node->args.begin() + 1, node->args.end());
    return NULL;
}

const char *
bd_conf_set_int(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);
    const bd_conf_bounds_t *bounds = (const bd_conf_bounds_t *) d->post;
    int64_t v;

    if (msg != NULL) {
        return msg;
    }
    if (bd_conf_parse_int(node->args[1].c_str(), &v) != 0) {
        return bd_conf_invalid(cf, node, d);
    }
    if (bounds != NULL && (v < bounds->min || v > bounds->max)) {
        return bd_conf_msg(cf, "\"%s\" directive value must be between %lld and %lld", d->name,
                           (long long) bounds->min, (long long) bounds->max);
    }
    *(int64_t *) bd_conf_field(conf, d) = v;
    return NULL;
}

const char *
bd_conf_set_size(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                 void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);
    uint64_t v;

    if (msg != NULL) {
        return msg;
    }
    if (bd_conf_parse_size(node->args[1].c_str(), &v) != 0) {
        return bd_conf_invalid(cf, node, d);
    }
    *(uint64_t *) bd_conf_field(conf, d) = v;
    return NULL;
}

const char *
bd_conf_set_duration(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                     void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);
    int64_t v;

    if (msg != NULL) {
        return msg;
    }
    if (bd_conf_parse_duration(node->args[1].c_str(), &v) != 0) {
        return bd_conf_invalid(cf, node, d);
    }
    *(int64_t *) bd_conf_field(conf, d) = v;
    return NULL;
}

const char *
bd_conf_set_enum(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                 void *conf)
{
    const char *msg = bd_conf_need_arg(cf, node, d);
    const bd_conf_enum_t *e = (const bd_conf_enum_t *) d->post;

    if (msg != NULL) {
        return msg;
    }
    for (const bd_conf_enum_t *p = e; p != NULL && p->name != NULL; p++) {
        if (node->args[1] == p->name) {
            *(int *) bd_conf_field(conf, d) = p->value;
            return NULL;
        }
    }
    std::string names;
    for (const bd_conf_enum_t *p = e; p != NULL && p->name != NULL; p++) {
        names += names.empty() ? "" : ", ";
        names += p->name;
    }
    return bd_conf_msg(cf, "invalid value \"%s\" in \"%s\" directive, it must be one of: %s",
                       node->args[1].c_str(), d->name, names.c_str());
}

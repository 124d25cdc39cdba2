/*
 * bd_ctl_util.cc: bedrockctl's option parsing, dates and output formatting.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "modules/store/ctl/bd_ctl.h"

int
bd_ctl_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bedrockctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return rc;
}

static bool
bd_ctl_allowed(const char *const *allowed, const std::string &name)
{
    for (; *allowed != nullptr; allowed++) {
        if (name == *allowed) {
            return true;
        }
    }
    return false;
}

int
bd_ctl_parse_opts(const std::vector<std::string> &args, const char *const *allowed,
                  bd_ctl_opts_t *out)
{
    for (size_t i = 0; i < args.size(); i++) {
        const std::string &a = args[i];
        if (a.compare(0, 2, "--") != 0) {
            out->positional.push_back(a);
            continue;
        }
        size_t eq = a.find('=');
        std::string name = a.substr(0, eq);
        if (!bd_ctl_allowed(allowed, name)) {
            return bd_ctl_fail(BD_CTL_USAGE, "unknown option \"%s\"", name.c_str());
        }
        if (eq != std::string::npos) {
            out->flags.emplace_back(name, a.substr(eq + 1));
        } else if (i + 1 < args.size()) {
            out->flags.emplace_back(name, args[++i]);
        } else {
            return bd_ctl_fail(BD_CTL_USAGE, "option \"%s\" needs a value", name.c_str());
        }
    }
    return BD_CTL_OK;
}

const std::string *
bd_ctl_opt(const bd_ctl_opts_t *o, const char *name)
{
    const std::string *v = nullptr;
    for (const auto &f : o->flags) {
        if (f.first == name) {
            v = &f.second;
        }
    }
    return v;
}

int64_t
bd_ctl_parse_date(const std::string &s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    char z = 0;
    int n = 0;
    int fields = sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n);
    if (fields != 3) {
        return -1;
    }
    if ((size_t)n != s.size()) {
        int m = 0;
        if (sscanf(s.c_str() + n, "T%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2) {
            return -1;
        }
        n += m;
        if (s[(size_t)n] == ':' && sscanf(s.c_str() + n, ":%2d%n", &tm.tm_sec, &m) == 1) {
            n += m;
        }
        if (sscanf(s.c_str() + n, "%c", &z) != 1 || z != 'Z' || (size_t)n + 1 != s.size()) {
            return -1;
        }
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

std::string
bd_ctl_format_date(int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int64_t
bd_ctl_parse_count(const std::string &s)
{
    if (s.empty() || s.size() > 12 || strspn(s.c_str(), "0123456789") != s.size()) {
        return -1;
    }
    return strtoll(s.c_str(), nullptr, 10);
}

int
bd_ctl_parse_format(const std::string *s, bool csv_ok)
{
    if (s == nullptr || *s == "table") {
        return BD_CTL_TABLE;
    }
    if (*s == "json") {
        return BD_CTL_JSON;
    }
    if (*s == "csv" && csv_ok) {
        return BD_CTL_CSV;
    }
    return -1;
}

static void
bd_ctl_print_csv_field(const std::string &v)
{
    if (v.find_first_of(",\"\n\r") == std::string::npos) {
        fputs(v.c_str(), stdout);
        return;
    }
    putchar('"');
    for (char c : v) {
        if (c == '"') {
            putchar('"');
        }
        putchar(c);
    }
    putchar('"');
}

void
bd_ctl_print_rows(const std::vector<std::string> &header,
                  const std::vector<std::vector<std::string>> &rows, int format)
{
    std::vector<std::vector<std::string>> all;
    all.push_back(header);
    all.insert(all.end(), rows.begin(), rows.end());
    if (format == BD_CTL_CSV) {
        for (const auto &row : all) {
            for (size_t i = 0; i < row.size(); i++) {
                if (i > 0) {
                    putchar(',');
                }
                bd_ctl_print_csv_field(row[i]);
            }
            putchar('\n');
        }
        return;
    }
    std::vector<size_t> width(header.size(), 0);
    for (const auto &row : all) {
        for (size_t i = 0; i < row.size() && i < width.size(); i++) {
            width[i] = row[i].size() > width[i] ? row[i].size() : width[i];
        }
    }
    for (const auto &row : all) {
        for (size_t i = 0; i < row.size(); i++) {
            if (i + 1 == row.size()) {
                printf("%s\n", row[i].c_str());
            } else {
                printf("%-*s  ", (int)width[i], row[i].c_str());
            }
        }
    }
}

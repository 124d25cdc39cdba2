/*
 * bd_credentials_file.cc: the shared AWS config and credentials files (INI): find a
 * profile, merge its keys from both files (credentials file wins). Reads files but
 * touches no shared state: safe on any thread (the refresh thread, or conf time).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/aws/bd_credentials_int.h"

static const size_t BD_CREDENTIALS_FILE_MAX = 1024 * 1024;

int
bd_credentials_read_file(const char *path, std::string *out, std::string *err)
{
    FILE *f = fopen(path, "rb");
    if (f == nullptr) {
        *err = std::string("cannot open ") + path + ": " + strerror(errno);
        return -1;
    }
    out->clear();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        out->append(buf, n);
        if (out->size() > BD_CREDENTIALS_FILE_MAX) {
            fclose(f);
            *err = std::string(path) + " is larger than 1 MiB";
            return -1;
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        *err = std::string("cannot read ") + path;
        return -1;
    }
    return 0;
}

static std::string
bd_ini_trim(const char *p, const char *last)
{
    while (p < last && isspace((unsigned char)*p)) {
        p++;
    }
    while (last > p && isspace((unsigned char)last[-1])) {
        last--;
    }
    return std::string(p, last);
}

/* A value ends at a '#' or ';' that follows whitespace (an inline comment). */
static std::string
bd_ini_value(const char *p, const char *last)
{
    for (const char *q = p; q < last; q++) {
        if ((*q == '#' || *q == ';') && q > p && isspace((unsigned char)q[-1])) {
            last = q;
            break;
        }
    }
    return bd_ini_trim(p, last);
}

/* The profile a section header names, or "" when it names none (sso-session, services). */
static std::string
bd_ini_section_profile(const std::string &header, bool config_file)
{
    if (!config_file || header == "default") {
        return header;
    }
    if (header.compare(0, 7, "profile") == 0 && header.size() > 8
        && isspace((unsigned char)header[7])) {
        return bd_ini_trim(header.data() + 8, header.data() + header.size());
    }
    return "";
}

bool
bd_aws_ini_profile(const char *text, size_t len, bool config_file, const char *name,
                   std::map<std::string, std::string> *values)
{
    const char *p = text, *end = text + len;
    bool in_section = false, found = false;
    std::string parent;      /* last key at column 0; "" after a section header */
    bool parent_empty = false;
    while (p < end) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
        const char *last = eol != nullptr ? eol : end;
        const char *line = p;
        p = eol != nullptr ? eol + 1 : end;
        bool indented = line < last && (*line == ' ' || *line == '\t');
        std::string t = bd_ini_trim(line, last);
        if (t.empty() || t[0] == '#' || t[0] == ';') {
            continue;
        }
        if (t[0] == '[' && !(indented && !parent.empty())) {
            size_t close = t.find(']');
            std::string header = bd_ini_trim(t.data() + 1, t.data() + (close == std::string::npos
                                                                           ? t.size()
                                                                           : close));
            in_section = close != std::string::npos
                         && bd_ini_section_profile(header, config_file) == name;
            found = found || in_section;
            parent.clear();
            continue;
        }
        size_t eq = t.find('=');
        if (eq == std::string::npos) {
            continue; /* not a key line; configparser would reject the file, we skip it */
        }
        std::string key = bd_ini_trim(t.data(), t.data() + eq);
        for (char &c : key) {
            c = (char)tolower((unsigned char)c);
        }
        std::string value = bd_ini_value(t.data() + eq + 1, t.data() + t.size());
        if (indented && !parent.empty()) {
            /* Indented lines under a key with an empty value form a sub-section
             * (`s3 =` then `  max_concurrent_requests = 10`); under any other key they
             * continue its value. Neither may override the profile's own keys. */
            if (in_section && parent_empty) {
                (*values)[parent + "." + key] = value;
            }
            continue;
        }
        parent = key;
        parent_empty = value.empty();
        if (in_section) {
            (*values)[key] = value;
        }
    }
    return found;
}

static std::string
bd_profile_path(const bd_aws_env_t *env, const char *var, const char *leaf)
{
    const char *v = bd_aws_env_get(env, var);
    if (v != nullptr) {
        return v;
    }
    const char *home = bd_aws_env_get(env, "HOME");
    if (home == nullptr) {
        return "";
    }
    return std::string(home) + "/.aws/" + leaf;
}

void
bd_aws_profile_load(const bd_aws_env_t *env, const char *name, bd_aws_profile_t *out)
{
    std::map<std::string, std::string> from_config;
    std::string text, err;
    out->name = name;
    out->values.clear();
    out->found = false;
    std::string path = bd_profile_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    /* A missing file is normal (most hosts have neither); the chain moves on. */
    if (!path.empty() && bd_credentials_read_file(path.c_str(), &text, &err) == 0) {
        out->found |= bd_aws_ini_profile(text.data(), text.size(), false, name, &out->values);
    }
    path = bd_profile_path(env, "AWS_CONFIG_FILE", "config");
    if (!path.empty() && bd_credentials_read_file(path.c_str(), &text, &err) == 0) {
        out->found |= bd_aws_ini_profile(text.data(), text.size(), true, name, &from_config);
    }
    for (const auto &kv : from_config) {
        out->values.insert(kv); /* insert keeps the credentials-file value */
    }
}

const char *
bd_aws_profile_get(const bd_aws_profile_t *pr, const char *key)
{
    auto it = pr->values.find(key);
    if (it == pr->values.end() || it->second.empty()) {
        return nullptr;
    }
    return it->second.c_str();
}

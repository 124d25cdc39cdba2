/*
 * bd_conf_parse.cc: turns conf text into a tree of bd_conf_node_t. Owns the lexer
 * (words, quotes, escapes, comments, ${VAR} expansion) and include (globs relative
 * to the including file, cycle detection). Main thread only.
 * Invariant: every node keeps the file:line of its first token, and no node is
 * ever an include: the included files' nodes are spliced in its place.
 */

#include "core/bd_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

enum {
    BD_TOK_WORD,
    BD_TOK_SEMI,
    BD_TOK_OPEN,
    BD_TOK_CLOSE,
    BD_TOK_EOF,
};

/* Limits that turn hostile input into a message instead of a stack overflow. */
#define BD_CONF_MAX_DEPTH 64
#define BD_CONF_MAX_INCLUDES 32

struct bd_conf_tok_t {
    int type;
    int line;
    std::string text; /* words: the value after unquoting and expansion */
};

struct bd_conf_lex_t {
    bd_conf_ctx_t *cf;
    const std::string *file; /* name for messages and nodes */
    const char *p;
    const char *end;
    int line;
    int last_line; /* line of the last token: where end-of-file errors point */
};

/* The chain of files being read, outermost first, for cycle detection. */
struct bd_conf_parser_t {
    bd_conf_ctx_t *cf;
    std::vector<std::string> real;  /* realpath of each open file */
    std::vector<std::string> names; /* the same files, as opened */
};

static int bd_conf_fail(bd_conf_ctx_t *cf, const std::string &file, int line, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static int bd_conf_parse_block(bd_conf_parser_t *ps, bd_conf_lex_t *lx, const std::string &dir,
                               bool inside, int depth, std::vector<bd_conf_node_t> *out);
static int bd_conf_parse_path(bd_conf_parser_t *ps, const std::string &path,
                              const bd_conf_node_t *from, int depth,
                              std::vector<bd_conf_node_t> *out);

static int
bd_conf_fail(bd_conf_ctx_t *cf, const std::string &file, int line, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    std::string msg;
    if (n >= (int) sizeof(buf)) {
        /* Messages quote user text, which may be long: format again at full size. */
        msg.resize(n + 1);
        va_start(ap, fmt);
        vsnprintf(&msg[0], msg.size(), fmt, ap);
        va_end(ap);
        msg.resize(n);
    } else {
        msg.assign(buf, n > 0 ? n : 0);
    }

    if (file.empty()) {
        cf->error = msg;
    } else {
        cf->error = file + ":" + std::to_string(line) + ": " + msg;
    }
    return -1;
}

static bool
bd_conf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips blanks, newlines and # comments, counting lines. */
static void
bd_conf_lex_skip(bd_conf_lex_t *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (bd_conf_is_space(c)) {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') {
                lx->p++;
            }
        } else {
            break;
        }
    }
}

/* At "${": appends the value of ${NAME} or ${NAME:-default} to <out> and moves past
 * the "}". The reference must close on its own line. */
static int
bd_conf_lex_expand(bd_conf_lex_t *lx, std::string *out)
{
    const char *start = lx->p;
    const char *close = start + 2;
    while (close < lx->end && *close != '}' && *close != '\n') {
        close++;
    }
    if (close == lx->end || *close != '}') {
        return bd_conf_fail(lx->cf, *lx->file, lx->line, "unterminated \"${\"");
    }

    const char *name = start + 2;
    const char *p = name;
    while (p < close && (*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                         || (p > name && *p >= '0' && *p <= '9'))) {
        p++;
    }
    bool has_default = close - p >= 2 && p[0] == ':' && p[1] == '-';
    if (p == name || (p != close && !has_default)) {
        return bd_conf_fail(lx->cf, *lx->file, lx->line, "invalid variable reference \"%.*s\"",
                            (int) (close + 1 - start), start);
    }

    std::string var(name, p - name);
    const char *getenv_name = var.c_str();
    const char *value = lx->cf->getenv ? lx->cf->getenv(getenv_name) : getenv(getenv_name);

    /* As in the shell, ":-" replaces an empty value as well as an unset one. */
    if (has_default && (value == NULL || *value == '\0')) {
        out->append(p + 2, close);
    } else if (value != NULL) {
        out->append(value);
    } else {
        return bd_conf_fail(lx->cf, *lx->file, lx->line,
                            "environment variable \"%s\" is not set", var.c_str());
    }
    lx->p = close + 1;
    return 0;
}

/* A quoted string must be followed by a separator, so "a"b is not silently one word. */
static int
bd_conf_lex_after_quote(bd_conf_lex_t *lx)
{
    if (lx->p == lx->end) {
        return 0;
    }
    char c = *lx->p;
    if (bd_conf_is_space(c) || c == ';' || c == '{' || c == '}') {
        return 0;
    }
    return bd_conf_fail(lx->cf, *lx->file, lx->line, "unexpected \"%c\" after quoted string", c);
}

/* "double": escapes \" \' \\ \$ \n \t \r, ${VAR} expanded; any other backslash is kept. */
static int
bd_conf_lex_double(bd_conf_lex_t *lx, bd_conf_tok_t *tok)
{
    lx->p++;
    for (;;) {
        if (lx->p == lx->end || *lx->p == '\n') {
            return bd_conf_fail(lx->cf, *lx->file, tok->line, "unterminated quote");
        }
        char c = *lx->p;
        if (c == '"') {
            lx->p++;
            return bd_conf_lex_after_quote(lx);
        }
        if (c == '$' && lx->p + 1 < lx->end && lx->p[1] == '{') {
            if (bd_conf_lex_expand(lx, &tok->text) != 0) {
                return -1;
            }
            continue;
        }
        if (c == '\\' && lx->p + 1 < lx->end) {
            char e = lx->p[1];
            const char *repl = e == 'n' ? "\n" : e == 't' ? "\t" : e == 'r' ? "\r" : NULL;
            if (repl != NULL) {
                tok->text += *repl;
                lx->p += 2;
                continue;
            }
            if (e == '"' || e == '\'' || e == '\\' || e == '$') {
                tok->text += e;
                lx->p += 2;
                continue;
            }
        }
        tok->text += c;
        lx->p++;
    }
}

/* 'single': only \' and \\ are escapes; no expansion. */
static int
bd_conf_lex_single(bd_conf_lex_t *lx, bd_conf_tok_t *tok)
{
    lx->p++;
    for (;;) {
        if (lx->p == lx->end || *lx->p == '\n') {
            return bd_conf_fail(lx->cf, *lx->file, tok->line, "unterminated quote");
        }
        char c = *lx->p;
        if (c == '\'') {
            lx->p++;
            return bd_conf_lex_after_quote(lx);
        }
        if (c == '\\' && lx->p + 1 < lx->end && (lx->p[1] == '\'' || lx->p[1] == '\\')) {
            tok->text += lx->p[1];
            lx->p += 2;
            continue;
        }
        tok->text += c;
        lx->p++;
    }
}

/* A bare word runs to a blank, ";", "{" or "}"; quotes and "#" inside it are literal. */
static int
bd_conf_lex_word(bd_conf_lex_t *lx, bd_conf_tok_t *tok)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (bd_conf_is_space(c) || c == ';' || c == '{' || c == '}') {
            break;
        }
        if (c == '$' && lx->p + 1 < lx->end && lx->p[1] == '{') {
            if (bd_conf_lex_expand(lx, &tok->text) != 0) {
                return -1;
            }
            continue;
        }
        tok->text += c;
        lx->p++;
    }
    return 0;
}

static int
bd_conf_lex_next(bd_conf_lex_t *lx, bd_conf_tok_t *tok)
{
    bd_conf_lex_skip(lx);
    tok->text.clear();
    tok->line = lx->line;
    if (lx->p == lx->end) {
        tok->type = BD_TOK_EOF;
        return 0;
    }
    lx->last_line = lx->line;
    tok->type = BD_TOK_WORD;

    switch (*lx->p) {
    case ';':
        tok->type = BD_TOK_SEMI;
        lx->p++;
        return 0;
    case '{':
        tok->type = BD_TOK_OPEN;
        lx->p++;
        return 0;
    case '}':
        tok->type = BD_TOK_CLOSE;
        lx->p++;
        return 0;
    case '"':
        return bd_conf_lex_double(lx, tok);
    case '\'':
        return bd_conf_lex_single(lx, tok);
    default:
        return bd_conf_lex_word(lx, tok);
    }
}

static std::string
bd_conf_dirname(const std::string &path)
{
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    if (slash == 0) {
        return "/";
    }
    return path.substr(0, slash);
}

/* Relative include patterns are taken from the including file's directory; "."
 * stays implicit so names in messages read as the operator wrote them. */
static std::string
bd_conf_join(const std::string &dir, const std::string &pattern)
{
    if ((!pattern.empty() && pattern[0] == '/') || dir.empty() || dir == ".") {
        return pattern;
    }
    if (dir[dir.size() - 1] == '/') {
        return dir + pattern;
    }
    return dir + "/" + pattern;
}

static int
bd_conf_include_glob(bd_conf_parser_t *ps, const bd_conf_node_t &node, const std::string &pattern,
                     int depth, std::vector<bd_conf_node_t> *out)
{
    glob_t g;
    int rc = glob(pattern.c_str(), 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        return 0;
    }
    if (rc != 0) {
        globfree(&g);
        return bd_conf_fail(ps->cf, node.file, node.line, "glob() \"%s\" failed",
                            pattern.c_str());
    }

    /* Byte order, not the locale's collation: the load order must not depend on LANG. */
    std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    std::sort(paths.begin(), paths.end());

    for (const std::string &path : paths) {
        if (bd_conf_parse_path(ps, path, &node, depth, out) != 0) {
            return -1;
        }
    }
    return 0;
}

/* include PATTERN; a glob may match nothing, a plain path must exist. */
static int
bd_conf_include(bd_conf_parser_t *ps, const bd_conf_node_t &node, const std::string &dir,
                int depth, std::vector<bd_conf_node_t> *out)
{
    if (node.args.size() != 2) {
        return bd_conf_fail(ps->cf, node.file, node.line,
                            "invalid number of arguments in \"include\" directive");
    }
    std::string pattern = bd_conf_join(dir, node.args[1]);
    if (pattern.find_first_of("*?[") == std::string::npos) {
        return bd_conf_parse_path(ps, pattern, &node, depth, out);
    }
    return bd_conf_include_glob(ps, node, pattern, depth, out);
}

/* Collects one directive's words; <tok> is left holding the token that ended it. */
static int
bd_conf_parse_words(bd_conf_lex_t *lx, bd_conf_node_t *node, bd_conf_tok_t *tok)
{
    node->file = *lx->file;
    node->args.clear();
    node->children.clear();
    node->block = false;
    node->line = 0;
    for (;;) {
        if (bd_conf_lex_next(lx, tok) != 0) {
            return -1;
        }
        if (tok->type != BD_TOK_WORD) {
            return 0;
        }
        if (node->args.empty()) {
            node->line = tok->line;
        }
        node->args.push_back(tok->text);
    }
}

/* The words of <node> ended with "{": parse its children up to the matching "}". */
static int
bd_conf_parse_open(bd_conf_parser_t *ps, bd_conf_lex_t *lx, const std::string &dir, int depth,
                   bd_conf_node_t *node, const bd_conf_tok_t &tok)
{
    if (node->args.empty()) {
        return bd_conf_fail(ps->cf, *lx->file, tok.line, "unexpected \"{\"");
    }
    if (node->args[0] == "include") {
        return bd_conf_fail(ps->cf, node->file, node->line,
                            "\"include\" directive is not terminated by \";\"");
    }
    if (depth + 1 > BD_CONF_MAX_DEPTH) {
        return bd_conf_fail(ps->cf, node->file, node->line,
                            "blocks are nested more than %d deep", BD_CONF_MAX_DEPTH);
    }
    node->block = true;
    return bd_conf_parse_block(ps, lx, dir, true, depth + 1, &node->children);
}

/* Reads directives until the "}" that closes this block (<inside>) or the end of the
 * text. <depth> counts nested blocks across includes, for the nesting limit. */
static int
bd_conf_parse_block(bd_conf_parser_t *ps, bd_conf_lex_t *lx, const std::string &dir, bool inside,
                    int depth, std::vector<bd_conf_node_t> *out)
{
    bd_conf_node_t node;
    bd_conf_tok_t tok;

    for (;;) {
        if (bd_conf_parse_words(lx, &node, &tok) != 0) {
            return -1;
        }
        const char *name = node.args.empty() ? NULL : node.args[0].c_str();

        switch (tok.type) {
        case BD_TOK_SEMI:
            if (name == NULL) {
                return bd_conf_fail(ps->cf, *lx->file, tok.line, "unexpected \";\"");
            }
            if (node.args[0] == "include") {
                if (bd_conf_include(ps, node, dir, depth, out) != 0) {
                    return -1;
                }
                break;
            }
            out->push_back(std::move(node));
            break;

        case BD_TOK_OPEN:
            if (bd_conf_parse_open(ps, lx, dir, depth, &node, tok) != 0) {
                return -1;
            }
            out->push_back(std::move(node));
            break;

        case BD_TOK_CLOSE:
            if (name != NULL) {
                return bd_conf_fail(ps->cf, *lx->file, node.line,
                                    "\"%s\" directive is not terminated by \";\"", name);
            }
            if (!inside) {
                return bd_conf_fail(ps->cf, *lx->file, tok.line, "unexpected \"}\"");
            }
            return 0;

        default: /* BD_TOK_EOF */
            if (name != NULL) {
                return bd_conf_fail(ps->cf, *lx->file, lx->last_line,
                                    "unexpected end of file, expecting \";\" or \"}\"");
            }
            if (inside) {
                return bd_conf_fail(ps->cf, *lx->file, lx->last_line,
                                    "unexpected end of file, expecting \"}\"");
            }
            return 0;
        }
    }
}

static int
bd_conf_parse_text(bd_conf_parser_t *ps, const char *text, size_t len, const std::string &name,
                   const std::string &dir, int depth, std::vector<bd_conf_node_t> *out)
{
    bd_conf_lex_t lx;

    lx.cf = ps->cf;
    lx.file = &name;
    lx.p = text;
    lx.end = text + len;
    lx.line = 1;
    lx.last_line = 1;
    return bd_conf_parse_block(ps, &lx, dir, false, depth, out);
}

/* Reads a whole file; errors name the failed call as nginx does. */
static int
bd_conf_read_file(bd_conf_parser_t *ps, const std::string &path, const bd_conf_node_t *from,
                  std::string *text)
{
    const std::string &file = from ? from->file : std::string();
    int line = from ? from->line : 0;

    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return bd_conf_fail(ps->cf, file, line, "open() \"%s\" failed (%s)", path.c_str(),
                            strerror(errno));
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0) {
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            close(fd);
            return bd_conf_fail(ps->cf, file, line, "read() \"%s\" failed (%s)", path.c_str(),
                                strerror(err));
        }
        text->append(buf, n);
    }
    close(fd);
    return 0;
}

/* Parses the file <path>, included by <from> (null for the top file). */
static int
bd_conf_parse_path(bd_conf_parser_t *ps, const std::string &path, const bd_conf_node_t *from,
                   int depth, std::vector<bd_conf_node_t> *out)
{
    const std::string &file = from ? from->file : std::string();
    int line = from ? from->line : 0;

    char real[PATH_MAX];
    if (realpath(path.c_str(), real) == NULL) {
        return bd_conf_fail(ps->cf, file, line, "open() \"%s\" failed (%s)", path.c_str(),
                            strerror(errno));
    }
    for (size_t i = 0; i < ps->real.size(); i++) {
        if (ps->real[i] == real) {
            std::string chain;
            for (size_t j = i; j < ps->names.size(); j++) {
                chain += "\"" + ps->names[j] + "\" -> ";
            }
            return bd_conf_fail(ps->cf, file, line, "include cycle: %s\"%s\"", chain.c_str(),
                                path.c_str());
        }
    }
    if (ps->real.size() >= BD_CONF_MAX_INCLUDES) {
        return bd_conf_fail(ps->cf, file, line, "includes are nested more than %d deep",
                            BD_CONF_MAX_INCLUDES);
    }

    std::string text;
    if (bd_conf_read_file(ps, path, from, &text) != 0) {
        return -1;
    }
    ps->real.push_back(real);
    ps->names.push_back(path);
    int rc = bd_conf_parse_text(ps, text.data(), text.size(), path, bd_conf_dirname(path), depth,
                                out);
    ps->real.pop_back();
    ps->names.pop_back();
    return rc;
}

int
bd_conf_parse_file(bd_conf_ctx_t *cf, const char *path, std::vector<bd_conf_node_t> *out)
{
    bd_conf_parser_t ps;
    std::vector<bd_conf_node_t> nodes;

    ps.cf = cf;
    cf->error.clear();
    if (bd_conf_parse_path(&ps, path, NULL, 0, &nodes) != 0) {
        return -1;
    }
    out->insert(out->end(), nodes.begin(), nodes.end());
    return 0;
}

int
bd_conf_parse_string(bd_conf_ctx_t *cf, const char *text, const char *name, const char *base_dir,
                     std::vector<bd_conf_node_t> *out)
{
    bd_conf_parser_t ps;
    std::vector<bd_conf_node_t> nodes;

    ps.cf = cf;
    cf->error.clear();
    std::string file = name ? name : "(string)";
    std::string dir = base_dir ? base_dir : ".";
    if (bd_conf_parse_text(&ps, text, strlen(text), file, dir, 0, &nodes) != 0) {
        return -1;
    }
    out->insert(out->end(), nodes.begin(), nodes.end());
    return 0;
}

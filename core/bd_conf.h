/*
 * bd_conf.h: the configuration language. The parser turns a file (with its
 * includes, ${VAR} expansion and quoting) into a tree of directive nodes; the
 * dispatcher applies a list of nodes to modules' directive tables, calling each
 * directive's setter on the module's conf struct. Main thread only (conf load, -t).
 */
#ifndef BD_CONF_H
#define BD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <string>
#include <vector>

/* One directive as written: args[0] is its name. Block directives carry children. */
struct bd_conf_node_t {
    std::string file; /* the file it came from, as opened */
    int line;
    std::vector<std::string> args;
    bool block;
    std::vector<bd_conf_node_t> children;
};

/* Environment lookup; tests inject their own. Returns null when unset. */
typedef const char *(*bd_conf_getenv_pt)(const char *name);

struct bd_conf_ctx_t {
    std::string error;          /* "FILE:LINE: message" after a failure */
    std::string errbuf;         /* scratch for setters that format a message */
    bd_conf_getenv_pt getenv;   /* null: the process environment */
    void *user;                 /* the snapshot being built (opaque here) */
    const bd_conf_node_t *node; /* the node being applied, for setters that need file:line */
};

/* Parses <path> (and what it includes) and appends the nodes to <out>. Returns 0,
 * or -1 with cf->error = "FILE:LINE: message" and <out> untouched. When <path>
 * itself cannot be opened there is no line: cf->error = `open() "PATH" failed (...)`. */
int bd_conf_parse_file(bd_conf_ctx_t *cf, const char *path, std::vector<bd_conf_node_t> *out);

/* Same for text in memory; <name> is used in messages, <base_dir> resolves includes. */
int bd_conf_parse_string(bd_conf_ctx_t *cf, const char *text, const char *name,
                         const char *base_dir, std::vector<bd_conf_node_t> *out);

/* Prints <nodes> as conf text (for -T): one directive a line, blocks indented by
 * 4 spaces, words quoted only when needed. */
void bd_conf_print(const std::vector<bd_conf_node_t> &nodes, std::string *out);

/* --- directive tables --- */

struct bd_directive_t;

/* A setter parses node->args[1..] into the field at <conf> + d->offset.
 * Returns null on success, or a message (static, or cf->errbuf) such as
 * `invalid value "x" in "listen" directive`. */
typedef const char *(*bd_conf_set_pt)(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                      const bd_directive_t *d, void *conf);

/* What a setter returns when cf->error is already complete, e.g. after a nested
 * bd_conf_apply on its block failed: the dispatcher passes it on unchanged. */
#define BD_CONF_ERROR ((const char *) -1)

/* Argument counts: bits for exact counts, or ranges. */
enum {
    BD_ARGS_0 = 1u << 0,
    BD_ARGS_1 = 1u << 1,
    BD_ARGS_2 = 1u << 2,
    BD_ARGS_3 = 1u << 3,
    BD_ARGS_4 = 1u << 4,
    BD_ARGS_1_OR_MORE = 1u << 8,
    BD_ARGS_2_OR_MORE = 1u << 9,
    BD_ARGS_BLOCK = 1u << 10, /* takes a { } block (args counted as above; none: 0 args) */
    BD_ARGS_MULTI = 1u << 11, /* may appear more than once in one context */
    BD_ARGS_RESTART = 1u << 12, /* takes effect at the next restart only: a reload that
                                   changes it logs so (core/bd_restart.h) */
};

struct bd_directive_t {
    const char *name;     /* null ends a table */
    const char *contexts; /* space-separated: "main", or a block name such as "bedrock" */
    unsigned args;        /* BD_ARGS_* */
    bd_conf_set_pt set;
    size_t offset;        /* into the conf struct the dispatcher hands the setter */
    const void *post;     /* setter-specific: an enum table, bounds */
};

/* What one module contributes to one context: its table and the struct its setters fill.
 * A table none of whose directives belongs to the context may be passed with a null
 * conf: its names then give `"x" directive is not allowed here` instead of
 * `unknown directive "x"`. */
struct bd_conf_target_t {
    const bd_directive_t *directives;
    void *conf;
};

/* Applies <nodes> in <context> ("main" or a block name) to the targets: finds each
 * node's directive, checks context, argument count and duplicates, calls the setter.
 * Returns 0, or -1 with cf->error set to "FILE:LINE: message". */
int bd_conf_apply(bd_conf_ctx_t *cf, const std::vector<bd_conf_node_t> &nodes, const char *context,
                  const bd_conf_target_t *targets, size_t ntargets);

/* --- value parsers (0 on success, -1 on a bad value) --- */

int bd_conf_parse_size(const char *s, uint64_t *bytes);      /* 123, 512k, 32m, 1g */
int bd_conf_parse_duration(const char *s, int64_t *ms);      /* 250ms, 30s, 5m, 1h, 1d; bare = s */
int bd_conf_parse_flag(const char *s, bool *on);             /* on | off */

/* --- generic setters; the field types are given --- */

struct bd_conf_enum_t {
    const char *name; /* null ends the table */
    int value;
};

struct bd_conf_bounds_t {
    int64_t min;
    int64_t max;
};

const char *bd_conf_set_flag(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *);     /* bool */
const char *bd_conf_set_str(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *);      /* std::string */
/* As bd_conf_set_str, for a secret: `bedrockd -T` prints a fingerprint instead. */
const char *bd_conf_set_secret(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *); /* std::string */
const char *bd_conf_set_str_list(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *); /* std::vector<std::string>, appends every arg */
const char *bd_conf_set_int(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *);      /* int64_t; post: bd_conf_bounds_t */
const char *bd_conf_set_size(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *);     /* uint64_t bytes */
const char *bd_conf_set_duration(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *); /* int64_t ms */
const char *bd_conf_set_enum(bd_conf_ctx_t *, const bd_conf_node_t *, const bd_directive_t *, void *);     /* int; post: bd_conf_enum_t[] */

#endif

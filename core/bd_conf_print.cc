/*
 * bd_conf_print.cc: prints a parsed tree back as conf text (bedrockd -T). Main
 * thread only. Invariant: parsing the printed text gives the same tree (names,
 * arguments, blocks), whatever the arguments contain, with no environment lookup.
 */

#include "core/bd_conf.h"

/* A word can go out bare when the lexer would read it back unchanged: not empty,
 * no separator, no leading quote or comment mark, no "${" to expand. */
static bool
bd_conf_is_bare(const std::string &s)
{
    if (s.empty() || s[0] == '"' || s[0] == '\'' || s[0] == '#') {
        return false;
    }
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = (unsigned char) s[i];
        if (c <= ' ' || c == 0x7f || c == ';' || c == '{' || c == '}') {
            return false;
        }
        if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
            return false;
        }
    }
    return true;
}

/* Double quotes with the escapes the lexer knows; "\$" keeps "${" from expanding. */
static void
bd_conf_print_quoted(const std::string &s, std::string *out)
{
    *out += '"';
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        switch (c) {
        case '"':
            *out += "\\\"";
            break;
        case '\\':
            *out += "\\\\";
            break;
        case '\n':
            *out += "\\n";
            break;
        case '\t':
            *out += "\\t";
            break;
        case '\r':
            *out += "\\r";
            break;
        case '$':
            *out += (i + 1 < s.size() && s[i + 1] == '{') ? "\\$" : "$";
            break;
        default:
            *out += c;
        }
    }
    *out += '"';
}

static void
bd_conf_print_level(const std::vector<bd_conf_node_t> &nodes, size_t depth, std::string *out)
{
    for (const bd_conf_node_t &node : nodes) {
        if (node.args.empty()) {
            continue;
        }
        out->append(depth * 4, ' ');
        for (size_t i = 0; i < node.args.size(); i++) {
            if (i > 0) {
                *out += ' ';
            }
            if (bd_conf_is_bare(node.args[i])) {
                *out += node.args[i];
            } else {
                bd_conf_print_quoted(node.args[i], out);
            }
        }
        if (!node.block) {
            *out += ";\n";
            continue;
        }
        *out += " {\n";
        bd_conf_print_level(node.children, depth + 1, out);
        out->append(depth * 4, ' ');
        *out += "}\n";
    }
}

void
bd_conf_print(const std::vector<bd_conf_node_t> &nodes, std::string *out)
{
    bd_conf_print_level(nodes, 0, out);
}

/*
 * bd_convert_dump.cc: a jansson tree written as compact JSON text. jansson's own
 * dump goes through a callback per token and escapes a byte at a time (about 40
 * instructions a byte); this writes plain runs at once (core/bd_json) into one
 * string. The output is what json_dump_callback gives with JSON_COMPACT |
 * JSON_ENCODE_ANY | JSON_REAL_PRECISION(15): keys in insertion order, raw UTF-8,
 * reals with a ".0" when they would read as integers. Pure, any thread.
 */
#include <stdio.h>
#include <string.h>

#include "core/bd_json.h"
#include "modules/convert/bd_convert_int.h"

static void
bd_cv_dump_real(double v, std::string *out)
{
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%.15g", v);
    if (n <= 0 || (size_t)n >= sizeof(buf)) {
        out->append("0.0");
        return;
    }
    out->append(buf, (size_t)n);
    if (strpbrk(buf, ".eE") == nullptr) {
        out->append(".0"); /* still a real when read back */
    }
}

static int
bd_cv_dump_value(json_t *j, std::string *out, int depth)
{
    char buf[24];

    if (depth > 2048) {
        return -1; /* jansson's parser limit: no tree read from text is deeper */
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        out->push_back('{');
        bool first = true;
        for (void *it = json_object_iter(j); it != nullptr; it = json_object_iter_next(j, it)) {
            out->append(first ? "" : ",");
            first = false;
            bd_json_append_string(out, json_object_iter_key(it), json_object_iter_key_len(it));
            out->push_back(':');
            if (bd_cv_dump_value(json_object_iter_value(it), out, depth + 1) != 0) {
                return -1;
            }
        }
        out->push_back('}');
        return 0;
    }
    case JSON_ARRAY: {
        out->push_back('[');
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            out->append(i > 0 ? "," : "");
            if (bd_cv_dump_value(json_array_get(j, i), out, depth + 1) != 0) {
                return -1;
            }
        }
        out->push_back(']');
        return 0;
    }
    case JSON_STRING:
        bd_json_append_string(out, json_string_value(j), json_string_length(j));
        return 0;
    case JSON_INTEGER:
        out->append(buf, (size_t)snprintf(buf, sizeof(buf), "%lld",
                                          (long long)json_integer_value(j)));
        return 0;
    case JSON_REAL:
        bd_cv_dump_real(json_real_value(j), out);
        return 0;
    case JSON_TRUE:
        out->append("true");
        return 0;
    case JSON_FALSE:
        out->append("false");
        return 0;
    case JSON_NULL:
        out->append("null");
        return 0;
    }
    return -1;
}

int
bd_cv_json_append(json_t *j, std::string *out)
{
    return j != nullptr ? bd_cv_dump_value(j, out, 0) : -1;
}

int
bd_convert_json_dump(json_t *j, std::string *out)
{
    out->clear();
    return bd_cv_json_append(j, out);
}

/*
 * bd_metrics_render.cc: the Prometheus text exposition format (version 0.0.4):
 * HELP and TYPE lines, label escaping, number formatting, and cumulative
 * histogram buckets from the slots' per-bucket counts. Pure functions; any thread.
 */
#include "modules/metrics/bd_metrics.h"

#include <math.h>
#include <stdio.h>

static const char *
bd_metrics_type_name(int type)
{
    switch (type) {
    case BD_METRICS_COUNTER:
        return "counter";
    case BD_METRICS_GAUGE:
        return "gauge";
    default:
        return "histogram";
    }
}

std::string
bd_metrics_format_number(double v)
{
    if (isnan(v)) {
        return "NaN";
    }
    if (isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    char buf[64];
    /* Integers up to 2^53 are exact in a double: print them without a fraction. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(buf, sizeof(buf), "%.0f", v);
    } else {
        snprintf(buf, sizeof(buf), "%.15g", v);
    }
    return buf;
}

void
bd_metrics_escape_label(std::string *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\':
            out->append("\\\\");
            break;
        case '"':
            out->append("\\\"");
            break;
        case '\n':
            out->append("\\n");
            break;
        default:
            out->push_back(s[i]);
        }
    }
}

void
bd_metrics_render_header(std::string *out, const char *name, const char *help, int type)
{
    out->append("# HELP ");
    out->append(name);
    out->push_back(' ');
    /* HELP text escapes backslash and newline only. */
    for (const char *p = help; *p != '\0'; p++) {
        if (*p == '\\') {
            out->append("\\\\");
        } else if (*p == '\n') {
            out->append("\\n");
        } else {
            out->push_back(*p);
        }
    }
    out->append("\n# TYPE ");
    out->append(name);
    out->push_back(' ');
    out->append(bd_metrics_type_name(type));
    out->push_back('\n');
}

void
bd_metrics_render_sample(std::string *out, const char *name, const char *const *names,
                         const std::string *values, int nlabels, const char *value)
{
    out->append(name);
    if (nlabels > 0) {
        out->push_back('{');
        for (int i = 0; i < nlabels; i++) {
            if (i > 0) {
                out->push_back(',');
            }
            out->append(names[i]);
            out->append("=\"");
            bd_metrics_escape_label(out, values[i].data(), values[i].size());
            out->push_back('"');
        }
        out->push_back('}');
    }
    out->push_back(' ');
    out->append(value);
    out->push_back('\n');
}

static void
bd_metrics_render_histogram(std::string *out, const bd_metrics_family_t *f,
                            const bd_metrics_sample_t *s)
{
    std::string bucket = std::string(f->name) + "_bucket";
    const char *names[BD_METRICS_MAX_LABELS + 1];
    std::string values[BD_METRICS_MAX_LABELS + 1];
    for (int i = 0; i < f->nlabels; i++) {
        names[i] = f->labels[i];
        values[i] = s->labels[i];
    }
    names[f->nlabels] = "le";
    uint64_t cumulative = 0;
    for (int b = 0; b <= f->nbounds; b++) {
        cumulative += s->cells[(size_t)b];
        values[f->nlabels] = b < f->nbounds ? bd_metrics_format_number(f->bounds_us[b] / 1e6)
                                            : std::string("+Inf");
        std::string n = std::to_string(cumulative);
        bd_metrics_render_sample(out, bucket.c_str(), names, values, f->nlabels + 1, n.c_str());
    }
    std::string sum_name = std::string(f->name) + "_sum";
    std::string sum = bd_metrics_format_number((double)s->cells[(size_t)f->nbounds + 1] / 1e6);
    bd_metrics_render_sample(out, sum_name.c_str(), names, values, f->nlabels, sum.c_str());
    std::string count_name = std::string(f->name) + "_count";
    std::string count = std::to_string(cumulative);
    bd_metrics_render_sample(out, count_name.c_str(), names, values, f->nlabels, count.c_str());
}

void
bd_metrics_render(const bd_metrics_merged_t *m, std::string *out)
{
    auto it = m->begin();
    for (int family = 0; family < BD_MF_COUNT; family++) {
        const bd_metrics_family_t *f = &bd_metrics_families[family];
        bd_metrics_render_header(out, f->name, f->help, f->type);
        bool any = false;
        for (; it != m->end() && it->second.family == family; ++it) {
            any = true;
            const bd_metrics_sample_t *s = &it->second;
            if (f->type == BD_METRICS_HISTOGRAM) {
                bd_metrics_render_histogram(out, f, s);
                continue;
            }
            std::string v = std::to_string(s->cells[0]);
            bd_metrics_render_sample(out, f->name, f->labels, s->labels, f->nlabels, v.c_str());
        }
        /* A label-less counter exists from the start, so rate() sees its first step. */
        if (!any && f->nlabels == 0 && f->type == BD_METRICS_COUNTER) {
            bd_metrics_render_sample(out, f->name, nullptr, nullptr, 0, "0");
        }
    }
}

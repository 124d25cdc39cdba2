/*
 * bd_bedrock_catalog.cc: catalog snapshots: parsing the control plane's answers,
 * deriving client names from Bedrock ids, and the index workers read (listings and
 * the derived-name table). Pure functions over a snapshot that is not published
 * yet, so any thread; a published snapshot is only read.
 */
#include "modules/bedrock/bd_bedrock_catalog.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <algorithm>

#include <jansson.h>

#include "modules/models/bd_models_known.h"

#define BD_CATALOG_EPOCH "1970-01-01T00:00:00Z"

static void
bd_bedrock_catalog_destroy(bd_published_obj_t *obj)
{
    delete static_cast<bd_bedrock_catalog_t *>((bd_models_catalog_t *)obj);
}

bd_bedrock_catalog_t *
bd_bedrock_catalog_new(void)
{
    bd_bedrock_catalog_t *cat = new bd_bedrock_catalog_t();
    bd_published_obj_init(&cat->pub, bd_bedrock_catalog_destroy);
    cat->fetched_ms = 0;
    return cat;
}

void
bd_bedrock_catalog_release(bd_bedrock_catalog_t *cat)
{
    bd_published_release(cat != nullptr ? &cat->pub : nullptr);
}

/* --- names --- */

static std::string
bd_catalog_strip_geo(const std::string &id)
{
    return id.substr(bd_models_region_prefix(id.c_str()));
}

/* Where a "-vN" or "-vN:M" suffix starts in <s>, or npos. */
static size_t
bd_catalog_version_suffix(const std::string &s)
{
    size_t v = s.rfind("-v");
    if (v == std::string::npos) {
        return v;
    }
    size_t i = v + 2, digits = 0;
    for (; i < s.size() && isdigit((unsigned char)s[i]); i++) {
        digits++;
    }
    if (digits == 0) {
        return std::string::npos;
    }
    if (i < s.size() && s[i] == ':') {
        size_t minor = 0;
        for (i++; i < s.size() && isdigit((unsigned char)s[i]); i++) {
            minor++;
        }
        if (minor == 0) {
            return std::string::npos;
        }
    }
    return i == s.size() ? v : std::string::npos;
}

std::string
bd_bedrock_catalog_client_name(const std::string &bedrock_id)
{
    std::string s = bd_catalog_strip_geo(bedrock_id);
    size_t n = bd_models_provider_prefix(s.c_str());
    if (n == 0 || !(bd_models_known(s.c_str())->flags & BD_KNOWN_CLAUDE)) {
        return "";
    }
    s.erase(0, n);
    size_t v = bd_catalog_version_suffix(s);
    /* "claude-v2:1" keeps its version: without it only the family name is left. */
    if (v != std::string::npos && s.find('-') < v) {
        s.resize(v);
    }
    return s;
}

std::vector<std::string>
bd_bedrock_catalog_geos(const char *region)
{
    std::string r = region != nullptr ? region : "";
    std::vector<std::string> out;
    if (r.compare(0, 7, "us-gov-") == 0) {
        out.push_back("us-gov");
    } else if (r.compare(0, 3, "us-") == 0) {
        out.push_back("us");
    } else if (r.compare(0, 3, "eu-") == 0) {
        out.push_back("eu");
    } else if (r.compare(0, 3, "ca-") == 0) {
        out.push_back("ca");
        out.push_back("us");
    } else if (r.compare(0, 3, "ap-") == 0) {
        if (r == "ap-northeast-1" || r == "ap-northeast-3") {
            out.push_back("jp");
        } else if (r == "ap-southeast-2" || r == "ap-southeast-4") {
            out.push_back("au");
        }
        out.push_back("apac");
    }
    out.push_back("global");
    return out;
}

/* --- parsing --- */

static std::string
bd_catalog_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != nullptr ? s : "";
}

static std::vector<std::string>
bd_catalog_strs(json_t *obj, const char *key)
{
    std::vector<std::string> out;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(obj, key), i, v) {
        if (json_is_string(v)) {
            out.push_back(json_string_value(v));
        }
    }
    return out;
}

static json_t *
bd_catalog_load(const char *body, size_t len, const char *member, std::string *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (root == nullptr || !json_is_object(root) || !json_is_array(json_object_get(root, member))) {
        *err = std::string("the answer has no \"") + member + "\" array" +
               (root == nullptr ? std::string(": ") + jerr.text : "");
        json_decref(root);
        return nullptr;
    }
    return root;
}

int
bd_bedrock_catalog_parse_models(const char *body, size_t len, bd_bedrock_catalog_t *cat,
                                std::string *err)
{
    json_t *root = bd_catalog_load(body, len, "modelSummaries", err);
    if (root == nullptr) {
        return -1;
    }
    cat->models.clear();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(root, "modelSummaries"), i, m) {
        bd_bedrock_fm_t fm;
        fm.id = bd_catalog_str(m, "modelId");
        if (fm.id.empty()) {
            continue;
        }
        fm.arn = bd_catalog_str(m, "modelArn");
        fm.name = bd_catalog_str(m, "modelName");
        fm.provider = bd_catalog_str(m, "providerName");
        fm.status = bd_catalog_str(json_object_get(m, "modelLifecycle"), "status");
        if (fm.status.empty()) {
            fm.status = "ACTIVE";
        }
        fm.input_modalities = bd_catalog_strs(m, "inputModalities");
        fm.output_modalities = bd_catalog_strs(m, "outputModalities");
        fm.inference_types = bd_catalog_strs(m, "inferenceTypesSupported");
        fm.streaming = json_is_true(json_object_get(m, "responseStreamingSupported"));
        cat->models.push_back(std::move(fm));
    }
    json_decref(root);
    return 0;
}

/* "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-..." -> the id. */
static std::string
bd_catalog_arn_model(const std::string &arn)
{
    static const char marker[] = "foundation-model/";
    size_t at = arn.find(marker);
    return at == std::string::npos ? "" : arn.substr(at + strlen(marker));
}

int
bd_bedrock_catalog_parse_profiles(const char *body, size_t len, bd_bedrock_catalog_t *cat,
                                  std::string *next_token, std::string *err)
{
    json_t *root = bd_catalog_load(body, len, "inferenceProfileSummaries", err);
    if (root == nullptr) {
        return -1;
    }
    size_t i, j;
    json_t *p, *m;
    json_array_foreach(json_object_get(root, "inferenceProfileSummaries"), i, p) {
        bd_bedrock_profile_t pr;
        pr.id = bd_catalog_str(p, "inferenceProfileId");
        if (pr.id.empty()) {
            continue;
        }
        pr.arn = bd_catalog_str(p, "inferenceProfileArn");
        pr.name = bd_catalog_str(p, "inferenceProfileName");
        pr.status = bd_catalog_str(p, "status");
        pr.type = bd_catalog_str(p, "type");
        json_array_foreach(json_object_get(p, "models"), j, m) {
            std::string id = bd_catalog_arn_model(bd_catalog_str(m, "modelArn"));
            if (!id.empty() && std::find(pr.models.begin(), pr.models.end(), id) ==
                                   pr.models.end()) {
                pr.models.push_back(id);
            }
        }
        cat->profiles.push_back(std::move(pr));
    }
    *next_token = bd_catalog_str(root, "nextToken");
    json_decref(root);
    return 0;
}

/* --- the index --- */

static bool
bd_catalog_has(const std::vector<std::string> &v, const char *s)
{
    for (const std::string &x : v) {
        if (strcasecmp(x.c_str(), s) == 0) {
            return true;
        }
    }
    return false;
}

/* The id to call <fm> with: its own when it runs on demand, else the best active
 * system profile that routes to it; "" when it cannot be called. */
static std::string
bd_catalog_target(const bd_bedrock_catalog_t *cat, const bd_bedrock_fm_t &fm,
                  const std::vector<std::string> &geos)
{
    if (fm.inference_types.empty() || bd_catalog_has(fm.inference_types, "ON_DEMAND")) {
        return fm.id;
    }
    std::string best;
    size_t best_rank = geos.size() + 1;
    for (const bd_bedrock_profile_t &p : cat->profiles) {
        if (p.type != "SYSTEM_DEFINED" || p.status != "ACTIVE" ||
            std::find(p.models.begin(), p.models.end(), fm.id) == p.models.end()) {
            continue;
        }
        size_t rank = geos.size();
        for (size_t g = 0; g < geos.size(); g++) {
            if (p.id == geos[g] + "." + fm.id) {
                rank = g;
                break;
            }
        }
        if (rank < best_rank) {
            best = p.id;
            best_rank = rank;
        }
    }
    return best;
}

/* "2025-09-29T00:00:00Z" from the first 8-digit date in <id>, else the epoch. */
static std::string
bd_catalog_created_at(const std::string &id)
{
    for (size_t i = 0; i + 8 <= id.size(); i++) {
        size_t n = 0;
        while (n < 8 && isdigit((unsigned char)id[i + n])) {
            n++;
        }
        bool edge = i + n == id.size() || !isdigit((unsigned char)id[i + n]);
        if (n == 8 && edge && (i == 0 || !isdigit((unsigned char)id[i - 1])) &&
            id.compare(i, 2, "20") == 0) {
            return id.substr(i, 4) + "-" + id.substr(i + 4, 2) + "-" + id.substr(i + 6, 2) +
                   "T00:00:00Z";
        }
    }
    return BD_CATALOG_EPOCH;
}

static std::string
bd_catalog_lower(const std::string &s)
{
    std::string out = s;
    for (char &c : out) {
        c = (char)tolower((unsigned char)c);
    }
    return out;
}

/* Claude first, newest first; then the rest by id. */
static bool
bd_catalog_order(const bd_models_listing_t &a, const bd_models_listing_t &b)
{
    bool ca = a.id.compare(0, 6, "claude") == 0, cb = b.id.compare(0, 6, "claude") == 0;
    if (ca != cb) {
        return ca;
    }
    if (ca && a.created_at != b.created_at) {
        return a.created_at > b.created_at;
    }
    return a.id < b.id;
}

void
bd_bedrock_catalog_index(bd_bedrock_catalog_t *cat, const char *region)
{
    std::vector<std::string> geos = bd_bedrock_catalog_geos(region);
    cat->listings.clear();
    cat->names.clear();
    for (const bd_bedrock_fm_t &fm : cat->models) {
        bool text = bd_catalog_has(fm.output_modalities, "TEXT");
        bool embedding = bd_catalog_has(fm.output_modalities, "EMBEDDING");
        if (fm.status != "ACTIVE" || !(text || embedding)) {
            continue;
        }
        std::string target = bd_catalog_target(cat, fm, geos);
        if (target.empty()) {
            continue;
        }
        bd_models_listing_t l;
        l.id = bd_bedrock_catalog_client_name(fm.id);
        if (!l.id.empty()) {
            if (!cat->names.emplace(l.id, target).second) {
                continue; /* two versions with one name: the first keeps it */
            }
        } else {
            l.id = target;
        }
        l.display_name = fm.name.empty() ? l.id : fm.name;
        l.created_at = bd_catalog_created_at(fm.id);
        l.owned_by = fm.provider.empty() ? "bedrock" : bd_catalog_lower(fm.provider);
        l.bedrock_id = target;
        l.embedding = embedding && !text;
        cat->listings.push_back(std::move(l));
    }
    std::stable_sort(cat->listings.begin(), cat->listings.end(), bd_catalog_order);
}

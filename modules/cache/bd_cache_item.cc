/*
 * bd_cache_item.cc: cached answers to and from DynamoDB items (zlib, base64).
 */
#include "modules/cache/bd_cache_item.h"

#include <stdlib.h>

#include <openssl/evp.h>
#include <zlib.h>

#include <memory>

int
bd_cache_deflate(const std::string &in, std::string *out)
{
    uLongf len = compressBound((uLong)in.size());
    out->resize(len);
    if (compress2((Bytef *)&(*out)[0], &len, (const Bytef *)in.data(), (uLong)in.size(),
                  Z_BEST_SPEED) != Z_OK) {
        return -1;
    }
    out->resize(len);
    return 0;
}

int
bd_cache_inflate(const std::string &in, size_t max, std::string *out)
{
    z_stream zs = {};
    if (inflateInit(&zs) != Z_OK) {
        return -1;
    }
    zs.next_in = (Bytef *)in.data();
    zs.avail_in = (uInt)in.size();
    out->clear();
    char buf[16384];
    int rc;
    do {
        zs.next_out = (Bytef *)buf;
        zs.avail_out = sizeof(buf);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            break;
        }
        out->append(buf, sizeof(buf) - zs.avail_out);
        if (out->size() > max) {
            rc = Z_DATA_ERROR;
            break;
        }
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

static std::string
bd_cache_base64(const std::string &raw)
{
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock((unsigned char *)&out[0], (const unsigned char *)raw.data(),
                            (int)raw.size());
    out.resize(n < 0 ? 0 : (size_t)n);
    return out;
}

static int
bd_cache_unbase64(const char *b64, size_t len, std::string *raw)
{
    if (len % 4 != 0) {
        return -1;
    }
    raw->assign(3 * (len / 4) + 1, '\0');
    int n = EVP_DecodeBlock((unsigned char *)&(*raw)[0], (const unsigned char *)b64, (int)len);
    if (n < 0) {
        return -1;
    }
    size_t pad = (len > 0 && b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
    raw->resize((size_t)n - pad);
    return 0;
}

json_t *
bd_cache_item_make(const std::string &key, const bd_cache_entry_t *e)
{
    std::string z;
    if (bd_cache_deflate(e->bytes, &z) != 0 || z.size() > BD_CACHE_ITEM_MAX_BODY) {
        return nullptr;
    }
    return json_pack("{s:{s:s%}, s:{s:s}, s:{s:b}, s:{s:s%}, s:{s:s}}", "cache_key", "S",
                     key.data(), key.size(), "expires_at", "N",
                     std::to_string(e->expires_ms / 1000).c_str(), "stream", "BOOL", e->stream,
                     "model_resolved", "S", e->model_resolved.data(), e->model_resolved.size(),
                     "body", "B", bd_cache_base64(z).c_str());
}

bd_cache_entry_ref
bd_cache_item_parse(const json_t *item, int64_t now_ms)
{
    const char *expires = json_string_value(json_object_get(json_object_get(item, "expires_at"), "N"));
    const json_t *stream = json_object_get(json_object_get(item, "stream"), "BOOL");
    const json_t *model = json_object_get(json_object_get(item, "model_resolved"), "S");
    const json_t *body = json_object_get(json_object_get(item, "body"), "B");
    if (expires == nullptr || !json_is_boolean(stream) || !json_is_string(model) ||
        !json_is_string(body)) {
        return nullptr;
    }
    auto e = std::make_shared<bd_cache_entry_t>();
    e->expires_ms = strtoll(expires, nullptr, 10) * 1000;
    if (e->expires_ms <= now_ms) {
        return nullptr;
    }
    std::string z;
    if (bd_cache_unbase64(json_string_value(body), json_string_length(body), &z) != 0 ||
        bd_cache_inflate(z, 64u << 20, &e->bytes) != 0) {
        return nullptr;
    }
    e->stream = json_is_true(stream);
    e->model_resolved.assign(json_string_value(model), json_string_length(model));
    return e;
}

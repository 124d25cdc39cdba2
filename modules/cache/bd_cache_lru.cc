/*
 * bd_cache_lru.cc: the bounded LRU of cached answers.
 */
#include "modules/cache/bd_cache_lru.h"

size_t
bd_cache_lru_t::cost(const std::string &key, const bd_cache_entry_t &e)
{
    /* The bytes plus a rough per-entry overhead (map node, list node, strings). */
    return key.size() * 2 + e.bytes.size() + e.model_resolved.size() + 128;
}

void
bd_cache_lru_t::drop(std::unordered_map<std::string, slot_t>::iterator it)
{
    bytes_ -= cost(it->first, *it->second.entry);
    order_.erase(it->second.pos);
    map_.erase(it);
}

bd_cache_entry_ref
bd_cache_lru_t::get(const std::string &key, int64_t now_ms)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
        return nullptr;
    }
    if (it->second.entry->expires_ms <= now_ms) {
        drop(it);
        return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second.pos);
    return it->second.entry;
}

void
bd_cache_lru_t::put(const std::string &key, bd_cache_entry_ref e, size_t max_bytes)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto old = map_.find(key);
    if (old != map_.end()) {
        drop(old);
    }
    size_t c = cost(key, *e);
    if (c <= max_bytes) {
        order_.push_front(key);
        map_[key] = slot_t{std::move(e), order_.begin()};
        bytes_ += c;
    }
    while (bytes_ > max_bytes && !order_.empty()) {
        drop(map_.find(order_.back()));
    }
}

size_t
bd_cache_lru_t::bytes()
{
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
}

size_t
bd_cache_lru_t::count()
{
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
}

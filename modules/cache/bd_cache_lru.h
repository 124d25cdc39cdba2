/*
 * bd_cache_lru.h: the process's in-memory response cache: entries by key, least
 * recently used first out, bounded in bytes, each with an expiry. Shared by the
 * workers of one process under one mutex held only for map and list updates (an
 * entry is immutable and handed out by reference count, so no copy under the lock).
 */
#ifndef BD_CACHE_LRU_H
#define BD_CACHE_LRU_H

#include <stddef.h>
#include <stdint.h>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

/* One cached answer: the bytes as the client got them. */
struct bd_cache_entry_t {
    bool stream;                /* an SSE stream (else a JSON body) */
    std::string model_resolved; /* the Bedrock id that answered, for usage rows */
    std::string bytes;
    int64_t expires_ms;         /* epoch ms */
};

typedef std::shared_ptr<const bd_cache_entry_t> bd_cache_entry_ref;

class bd_cache_lru_t {
  public:
    /* The entry under <key> that has not expired at <now_ms> (it becomes the most
     * recent), or null. An expired entry is dropped. */
    bd_cache_entry_ref get(const std::string &key, int64_t now_ms);

    /* Stores <e> under <key> (replacing one there), then drops the least recently used
     * entries until the total is at most <max_bytes>. An entry larger than <max_bytes>
     * on its own is not kept. */
    void put(const std::string &key, bd_cache_entry_ref e, size_t max_bytes);

    size_t bytes();
    size_t count();

  private:
    struct slot_t {
        bd_cache_entry_ref entry;
        std::list<std::string>::iterator pos;
    };
    static size_t cost(const std::string &key, const bd_cache_entry_t &e);
    void drop(std::unordered_map<std::string, slot_t>::iterator it);

    std::mutex mu_;
    std::list<std::string> order_; /* most recent first */
    std::unordered_map<std::string, slot_t> map_;
    size_t bytes_ = 0;
};

#endif

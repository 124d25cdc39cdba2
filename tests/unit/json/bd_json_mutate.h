/*
 * bd_json_mutate.h: the byte mutations the JSON tests hold the scanner and the tree
 * builder to jansson with: one to three replaced, inserted or deleted bytes from an
 * alphabet of JSON's own characters, a few UTF-8 and control bytes; a fixed LCG, so
 * every run tests the same texts.
 */
#ifndef BD_JSON_MUTATE_H
#define BD_JSON_MUTATE_H

#include <stdint.h>

#include <string>

static const char bd_json_mutate_alphabet[] = "{}[]\",:0123456789eE.+- \\tfnrluadD\xc3\xa9\x01";

static inline std::string
bd_json_mutate(const std::string &seed, uint32_t *rng)
{
    std::string t = seed;
    int edits = 1 + (int)((*rng = *rng * 1103515245 + 12345) >> 16) % 3;
    for (int e = 0; e < edits; e++) {
        *rng = *rng * 1103515245 + 12345;
        size_t at = (*rng >> 8) % t.size();
        *rng = *rng * 1103515245 + 12345;
        char c = bd_json_mutate_alphabet[(*rng >> 8) % (sizeof(bd_json_mutate_alphabet) - 1)];
        *rng = *rng * 1103515245 + 12345;
        switch ((*rng >> 8) % 3) {
        case 0: t[at] = c; break;
        case 1: t.insert(at, 1, c); break;
        default: t.erase(at, 1); break;
        }
    }
    return t;
}

#endif

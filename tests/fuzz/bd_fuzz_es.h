/*
 * bd_fuzz_es.h: a helper the event-stream fuzz targets share. Pure, any thread.
 */
#ifndef BD_FUZZ_ES_H
#define BD_FUZZ_ES_H

#include <stdint.h>

#include <string>

#include "core/aws/bd_eventstream.h"

/* Rewrites both CRCs of every frame the declared lengths delimit in <s>, so that a mutated
 * frame still gets past the checksums to the header parser and the consumer; stops at the
 * first length that does not fit. */
static inline void
bd_fuzz_es_fix_crcs(std::string *s)
{
    size_t at = 0;
    while (s->size() - at >= 16) {
        uint8_t *p = (uint8_t *) &(*s)[at];
        uint32_t total = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
                         ((uint32_t) p[2] << 8) | p[3];
        if (total < 16 || total > s->size() - at) {
            return;
        }
        uint32_t crc = bd_crc32(0, p, 8);
        for (int i = 0; i < 4; i++) {
            p[8 + i] = (uint8_t) (crc >> (24 - 8 * i));
        }
        crc = bd_crc32(0, p, total - 4);
        for (int i = 0; i < 4; i++) {
            p[total - 4 + i] = (uint8_t) (crc >> (24 - 8 * i));
        }
        at += total;
    }
}

#endif

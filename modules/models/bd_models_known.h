/*
 * bd_models_known.h: what bedrockd knows about Bedrock model ids, in one table
 * (bd_models_known.cc): the region prefixes of system inference profiles, the
 * providers, and per family of ids the default route, whether extended thinking is on
 * by default, whether the Anthropic (InvokeModel) body fits it, and the embedding
 * protocol and sizes. Betas and output caps stay in the conf (`model_family`, the
 * model blocks of models.conf), where operators can follow Bedrock without a release.
 * Pure and constant: any thread. Its own library, below the converters.
 */
#ifndef BD_MODELS_KNOWN_H
#define BD_MODELS_KNOWN_H

#include <stddef.h>
#include <stdint.h>

enum bd_convert_embed_family_e {
    BD_EMBED_NONE = 0,  /* not an embedding model this adapter knows */
    BD_EMBED_TITAN_V2,  /* amazon.titan-embed-text-v2: one text per call, dimensions */
    BD_EMBED_TITAN_V1,  /* amazon.titan-embed-text-v1 (G1): one text per call */
    BD_EMBED_COHERE,    /* cohere.embed-*: up to 96 texts per call */
    BD_EMBED_NOVA,      /* amazon.nova-*embed*: one text per call, dimensions */
};

enum {
    BD_KNOWN_CLAUDE = 1u << 0,   /* takes the Anthropic Messages body (InvokeModel) */
    BD_KNOWN_INVOKE = 1u << 1,   /* routed via InvokeModel by default (else Converse) */
    BD_KNOWN_THINKING = 1u << 2, /* extended thinking on by default */
    BD_KNOWN_EMBED_TYPES = 1u << 3, /* Cohere v4: the body names its embedding_types */
};

/* One family of Bedrock ids. A row matches an id containing every one of <has> (the
 * id as the client or conf wrote it: bare, behind a region prefix, or inside an ARN);
 * the first matching row wins. */
struct bd_models_known_t {
    const char *name;
    const char *has[3];          /* substrings, null-terminated */
    unsigned flags;              /* BD_KNOWN_* */
    int embed;                   /* bd_convert_embed_family_e */
    const int64_t *dimensions;   /* embedding sizes it takes, 0-terminated; null: any */
    const char *dimensions_text; /* the same, for an error message */
};

/* The row for <bedrock_id>; never null (a row with no flags for unknown ids). */
const bd_models_known_t *bd_models_known(const char *bedrock_id);

/* The length of <id>'s system-profile region prefix ("us.", "eu.", "global." ...), or 0. */
size_t bd_models_region_prefix(const char *id);

/* The length of the Bedrock provider prefix <s> starts with ("anthropic.", "amazon."
 * ...), or 0. */
size_t bd_models_provider_prefix(const char *s);

#endif

/*
 * bd_openai_embed.cc: POST <prefix>/embeddings through InvokeModel. The adapter splits the
 * inputs into the model family's calls (one per text for Titan and Nova, batches of up to
 * 96 for Cohere); up to BD_OPENAI_EMBED_WINDOW calls run at once on the worker's curl
 * multi, each answer lands at its inputs' positions, and the first failure answers the
 * client (the others are canceled when the request is finalized). Worker thread.
 */
#include <string.h>

#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "modules/openai/bd_openai_int.h"

#define BD_OPENAI_EMBED_WINDOW 4

struct bd_openai_embed_ctx_t;

struct bd_openai_embed_slot_t {
    bd_openai_embed_ctx_t *ctx;
    size_t call;             /* index into embed.bodies */
    bd_bedrock_call_t *bcall; /* null once complete */
};

struct bd_openai_embed_ctx_t {
    bd_request_t *r;
    const bd_convert_model_t *model; /* the MODEL phase's */
    bd_convert_embed_t embed;
    std::vector<bd_openai_embed_slot_t> slots; /* one per call, never resized after start */
    std::vector<std::vector<double>> vectors;
    int64_t tokens;
    size_t next;  /* the next call to start */
    size_t done;  /* calls answered */
};

static void
bd_openai_embed_abort(bd_request_t *r)
{
    bd_openai_embed_ctx_t *ctx = (bd_openai_embed_ctx_t *)r->ctx[bd_openai_module.index];
    for (bd_openai_embed_slot_t &s : ctx->slots) {
        if (s.bcall != nullptr) {
            bd_bedrock_cancel(s.bcall);
            s.bcall = nullptr;
        }
    }
}

static void bd_openai_embed_start(bd_openai_embed_ctx_t *ctx);

static void
bd_openai_embed_finish(bd_openai_embed_ctx_t *ctx)
{
    bd_request_t *r = ctx->r;
    r->input_tokens = ctx->tokens;
    r->output_tokens = 0;
    bd_api_send_json(r, bd_convert_openai_embed_response(&ctx->embed, ctx->vectors,
                                                         r->model.c_str(), ctx->tokens));
}

static void
bd_openai_embed_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_openai_embed_slot_t *slot = (bd_openai_embed_slot_t *)bd_bedrock_data(c);
    bd_openai_embed_ctx_t *ctx = slot->ctx;
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    slot->bcall = nullptr;
    if (res->kind != BD_BEDROCK_OK) {
        bd_openai_upstream_error(res, &err);
        r->error_type = res->error_name.empty() ? "upstream_error" : res->error_name;
        bd_api_send_error(r, &err);
        return;
    }
    json_t *resp = json_loadb(res->body->data(), res->body->size(), 0, nullptr);
    int rc = resp ? bd_convert_openai_embed_parse(&ctx->embed, slot->call, resp, &ctx->vectors,
                                                  &ctx->tokens, &err)
                  : -1;
    json_decref(resp);
    if (rc != 0) {
        bd_log_error(BD_LOG_ERR, r->id, "cannot read the Bedrock embedding: %s",
                     resp ? err.message.c_str() : "not JSON");
        bd_http_send_error(r, 502, BD_ERR_API, "the upstream embedding could not be read");
        return;
    }
    if (++ctx->done == ctx->slots.size()) {
        bd_openai_embed_finish(ctx);
        return;
    }
    bd_openai_embed_start(ctx);
}

static const bd_bedrock_handlers_t bd_openai_embed_handlers = {
    nullptr,
    bd_openai_embed_on_complete,
};

/* Starts calls until the window is full or every call has started. */
static void
bd_openai_embed_start(bd_openai_embed_ctx_t *ctx)
{
    while (ctx->next < ctx->slots.size() && ctx->next - ctx->done < BD_OPENAI_EMBED_WINDOW) {
        bd_openai_embed_slot_t *slot = &ctx->slots[ctx->next];
        std::string body;
        body.swap(ctx->embed.bodies[ctx->next]); /* the call takes it over */
        ctx->next++;
        slot->bcall = bd_bedrock_call(ctx->r, BD_OP_INVOKE, ctx->model->bedrock_id, &body, nullptr,
                                      &bd_openai_embed_handlers, slot);
    }
}

int
bd_openai_embeddings(bd_request_t *r)
{
    bd_openai_embed_ctx_t *ctx = bd_request_arena_new<bd_openai_embed_ctx_t>(r);
    ctx->r = r;
    ctx->model = bd_api_req(r)->model;
    ctx->tokens = 0;
    ctx->next = ctx->done = 0;
    r->ctx[bd_openai_module.index] = ctx;
    bd_convert_error_t err;
    if (bd_convert_openai_embed_request(r->json, ctx->model, &ctx->embed, &err) != 0) {
        bd_http_send_error(r, err.status, bd_err_parse(err.type), err.message.c_str());
        return BD_DONE;
    }
    ctx->vectors.resize(ctx->embed.inputs.size());
    ctx->slots.resize(ctx->embed.bodies.size());
    for (size_t i = 0; i < ctx->slots.size(); i++) {
        ctx->slots[i] = {ctx, i, nullptr};
    }
    r->on_abort = bd_openai_embed_abort;
    bd_openai_embed_start(ctx);
    return BD_AGAIN;
}

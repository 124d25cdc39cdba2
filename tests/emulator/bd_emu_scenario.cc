/*
 * bd_emu_scenario.cc: the scenario language ("[[emu:NAME key=value ...]]" markers and the
 * x-emulator-scenario header), the error table, the count=N table, and the planner that
 * turns a request's input into a reply. Planning is pure; only the count table is shared
 * between loop threads, behind a mutex.
 */
#include "tests/emulator/bd_emu.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define BD_EMU_DEFAULT_TEXT "Hello from bedrock-emulator"
#define BD_EMU_COUNT_SLOTS 4096
#define BD_EMU_COUNT_KEY 160

static const bd_emu_error_t bd_emu_errors[] = {
    {"throttle", 429, "ThrottlingException", "Too many requests, please wait before trying again."},
    {"validation", 400, "ValidationException",
     "Malformed input request: #: extraneous key [emulator] is not permitted, please reformat "
     "your input and try again."},
    {"unavailable", 503, "ServiceUnavailableException",
     "Bedrock is unable to process your request."},
    {"not_ready", 429, "ModelNotReadyException",
     "Model is not ready for inference. Wait and try your request again."},
    {"access_denied", 403, "AccessDeniedException",
     "You don't have access to the model with the specified model ID."},
    {"not_found", 404, "ResourceNotFoundException",
     "Could not resolve the foundation model from the provided model identifier."},
    {"model_error", 424, "ModelErrorException",
     "The system encountered an unexpected error during processing. Try your request again."},
    {"model_timeout", 408, "ModelTimeoutException",
     "Model has timed out in processing the request. Try your request again."},
    {"internal", 500, "InternalServerException",
     "The server encountered an internal error while processing the request."},
    {"quota", 400, "ServiceQuotaExceededException",
     "Your request exceeds the service quota for your account."},
    /* The front end's refusals of the caller, as a revoked key or an expired session
     * gets them whatever the signature checker here thinks. */
    {"unrecognized_client", 403, "UnrecognizedClientException",
     "The security token included in the request is invalid."},
    {"invalid_signature", 403, "InvalidSignatureException",
     "The request signature we calculated does not match the signature you provided."},
    {"expired_token", 403, "ExpiredTokenException",
     "The security token included in the request is expired"},
};

/* Non-error scenarios; anything else is refused so a typo in a test shows at once. */
static const char *const bd_emu_plain_scenarios[] = {
    "echo", "tool", "reasoning", "cache", "stop_sequence", "max_tokens",
    "slow", "midstream_error", "cut", "corrupt",
};

/* count=N bookkeeping: a fixed open-addressing table, so no constructor runs. */
struct bd_emu_count_slot_t {
    char key[BD_EMU_COUNT_KEY];
    long used;
};

static bd_emu_count_slot_t bd_emu_count_table[BD_EMU_COUNT_SLOTS];
static pthread_mutex_t bd_emu_count_lock = PTHREAD_MUTEX_INITIALIZER;

static const bd_emu_error_t bd_emu_unknown_scenario = {
    nullptr, 400, "ValidationException", "bedrock-emulator: unknown scenario"};

bool
bd_emu_marker_extract(std::string *text, std::string *marker)
{
    size_t start = text->find("[[emu:");
    if (start == std::string::npos) {
        return false;
    }
    size_t end = text->find("]]", start + 6);
    if (end == std::string::npos) {
        return false;
    }
    marker->assign(*text, start + 6, end - start - 6);
    size_t cut_from = start;
    size_t cut_to = end + 2;
    /* Drop the spaces around the marker so the echo reads naturally. */
    while (cut_to < text->size() && (*text)[cut_to] == ' ') {
        cut_to++;
    }
    while (cut_from > 0 && (*text)[cut_from - 1] == ' ' && cut_to == text->size()) {
        cut_from--;
    }
    text->erase(cut_from, cut_to - cut_from);
    return true;
}

static int
bd_emu_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string
bd_emu_pct_decode(const char *s, size_t len)
{
    std::string out;
    out.reserve(len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len) {
            int hi = bd_emu_hex_value(s[i + 1]);
            int lo = bd_emu_hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back((char)(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

void
bd_emu_scenario_parse(const std::string &spec, bd_emu_scenario_t *sc)
{
    sc->name.clear();
    sc->params.clear();
    size_t i = 0;
    size_t n = spec.size();
    while (i < n) {
        while (i < n && (spec[i] == ' ' || spec[i] == '\t')) {
            i++;
        }
        size_t w = i;
        while (i < n && spec[i] != ' ' && spec[i] != '\t') {
            i++;
        }
        if (i == w) {
            break;
        }
        std::string word = spec.substr(w, i - w);
        size_t eq = word.find('=');
        if (sc->name.empty() && eq == std::string::npos) {
            sc->name = word;
            continue;
        }
        bd_emu_param_t p;
        p.name = word.substr(0, eq == std::string::npos ? word.size() : eq);
        if (eq != std::string::npos) {
            p.value = bd_emu_pct_decode(word.data() + eq + 1, word.size() - eq - 1);
        }
        sc->params.push_back(p);
    }
    if (sc->name.empty()) {
        sc->name = "echo";
    }
}

const char *
bd_emu_scenario_get(const bd_emu_scenario_t *sc, const char *key)
{
    for (const bd_emu_param_t &p : sc->params) {
        if (p.name == key) {
            return p.value.c_str();
        }
    }
    return nullptr;
}

long
bd_emu_scenario_long(const bd_emu_scenario_t *sc, const char *key, long dflt)
{
    const char *v = bd_emu_scenario_get(sc, key);
    if (v == nullptr || *v == '\0') {
        return dflt;
    }
    char *end;
    long x = strtol(v, &end, 10);
    return *end == '\0' && x >= 0 ? x : dflt;
}

const bd_emu_error_t *
bd_emu_error_find(const char *scenario)
{
    for (const bd_emu_error_t &e : bd_emu_errors) {
        if (strcmp(e.scenario, scenario) == 0) {
            return &e;
        }
    }
    return nullptr;
}

const bd_emu_error_t *
bd_emu_error_by_type(const char *type)
{
    for (const bd_emu_error_t &e : bd_emu_errors) {
        if (strcasecmp(e.type, type) == 0) {
            return &e;
        }
    }
    return nullptr;
}

static uint64_t
bd_emu_hash(const char *p, size_t len, uint64_t h)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

bool
bd_emu_count_take(const std::string &key, long count)
{
    char k[BD_EMU_COUNT_KEY];
    snprintf(k, sizeof(k), "%s", key.c_str());
    size_t slot = bd_emu_hash(k, strlen(k), 14695981039346656037ULL) % BD_EMU_COUNT_SLOTS;
    bool fire = false;
    pthread_mutex_lock(&bd_emu_count_lock);
    for (size_t probe = 0; probe < BD_EMU_COUNT_SLOTS; probe++) {
        bd_emu_count_slot_t *s = &bd_emu_count_table[(slot + probe) % BD_EMU_COUNT_SLOTS];
        if (s->key[0] == '\0') {
            memcpy(s->key, k, sizeof(k));
        } else if (strcmp(s->key, k) != 0) {
            continue;
        }
        fire = s->used < count;
        if (fire) {
            s->used++;
        }
        break;
    }
    pthread_mutex_unlock(&bd_emu_count_lock);
    return fire;
}

long
bd_emu_tokens_of(size_t bytes)
{
    return (long)((bytes + 3) / 4);
}

/* Splits <base> into word pieces (a word and the spaces after it) and appends them to
 * <b> until <tokens> pieces were written (0: just <base> once). Returns the count. */
static long
bd_emu_fill_pieces(bd_emu_block_t *b, const std::string &base, long tokens)
{
    long pieces = 0;
    size_t n = base.size();
    do {
        size_t i = 0;
        if (pieces > 0) {
            b->text.push_back(' ');
        }
        while (i < n && (tokens == 0 || pieces < tokens)) {
            size_t w = i;
            while (i < n && base[i] == ' ') {
                i++;
            }
            while (i < n && base[i] != ' ') {
                i++;
            }
            while (i < n && base[i] == ' ') {
                i++;
            }
            b->text.append(base, w, i - w);
            b->cuts.push_back((uint32_t)b->text.size());
            pieces++;
        }
    } while (tokens > 0 && pieces < tokens);
    return pieces;
}

/* Splits an ASCII string into about four pieces (tool input JSON, signatures). */
static void
bd_emu_fill_fragments(bd_emu_block_t *b)
{
    size_t n = b->text.size();
    size_t step = n < 4 ? 1 : (n + 3) / 4;
    for (size_t off = step; off < n + step; off += step) {
        b->cuts.push_back((uint32_t)(off < n ? off : n));
        if (off >= n) {
            break;
        }
    }
}

std::string
bd_emu_id_chars(uint64_t seed, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 29;
        out.push_back(alphabet[x % 62]);
    }
    return out;
}

static std::string
bd_emu_base64(const std::string &in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock((unsigned char *)&out[0], (const unsigned char *)in.data(),
                            (int)in.size());
    out.resize(n > 0 ? (size_t)n : 0);
    return out;
}

/* A value of the JSON type a schema asks for; objects recurse into their properties. */
static json_t *
bd_emu_sample_value(json_t *schema, int depth)
{
    json_t *en = json_object_get(schema, "enum");
    if (json_is_array(en) && json_array_size(en) > 0) {
        return json_deep_copy(json_array_get(en, 0));
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (type == nullptr) {
        type = json_object_get(schema, "properties") != nullptr ? "object" : "string";
    }
    if (strcmp(type, "object") == 0) {
        json_t *obj = json_object();
        json_t *props = json_object_get(schema, "properties");
        const char *name;
        json_t *sub;
        json_object_foreach(props, name, sub) {
            if (depth < 4) {
                json_object_set_new(obj, name, bd_emu_sample_value(sub, depth + 1));
            }
        }
        return obj;
    }
    if (strcmp(type, "integer") == 0) {
        return json_integer(1);
    }
    if (strcmp(type, "number") == 0) {
        return json_real(1.5);
    }
    if (strcmp(type, "boolean") == 0) {
        return json_true();
    }
    if (strcmp(type, "array") == 0) {
        return json_array();
    }
    return json_string("sample");
}

static void
bd_emu_add_text(bd_emu_reply_t *r, const std::string &base, long tokens)
{
    bd_emu_block_t b;
    b.kind = BD_EMU_BLOCK_TEXT;
    bd_emu_fill_pieces(&b, base, tokens);
    r->blocks.push_back(b);
}

static void bd_emu_plan_reasoning(const bd_emu_scenario_t *sc, const bd_emu_input_t *in,
                                  const std::string &base, bd_emu_reply_t *r);

/* tool: a short lead-in text, then a tool call for the first (or name=) tool; with
 * thinking=1, a reasoning block first (as Claude with extended thinking answers). */
static int
bd_emu_plan_tool(const bd_emu_scenario_t *sc, const bd_emu_input_t *in, bd_emu_reply_t *r)
{
    const char *want = bd_emu_scenario_get(sc, "name");
    const bd_emu_tool_t *tool = nullptr;
    for (const bd_emu_tool_t &t : in->tools) {
        if (want == nullptr || t.name == want) {
            tool = &t;
            break;
        }
    }
    if (tool == nullptr) {
        r->error_message = "bedrock-emulator: the tool scenario needs a tool in the request";
        return -1;
    }
    if (bd_emu_scenario_long(sc, "thinking", 0) != 0) {
        bd_emu_plan_reasoning(sc, in, in->user_text, r);
    }
    const char *lead = bd_emu_scenario_get(sc, "text");
    std::string lead_text = lead ? lead : "Let me call " + tool->name + ".";
    if (!lead_text.empty()) {
        bd_emu_add_text(r, lead_text, 0);
    }
    json_t *input = nullptr;
    const char *given = bd_emu_scenario_get(sc, "input");
    if (given != nullptr) {
        input = json_loads(given, 0, nullptr);
        if (!json_is_object(input)) {
            json_decref(input);
            r->error_message = "bedrock-emulator: input= must be a JSON object";
            return -1;
        }
    } else {
        input = bd_emu_sample_value(tool->schema, 0);
    }
    char *dump = json_dumps(input, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(input);
    bd_emu_block_t b;
    b.kind = BD_EMU_BLOCK_TOOL;
    b.text = dump ? dump : "{}";
    free(dump);
    b.tool_name = tool->name;
    b.tool_id = bd_emu_id_chars(in->seed, 22);
    bd_emu_fill_fragments(&b);
    r->blocks.push_back(b);
    r->stop_reason = "tool_use";
    return 0;
}

static void
bd_emu_plan_reasoning(const bd_emu_scenario_t *sc, const bd_emu_input_t *in,
                      const std::string &base, bd_emu_reply_t *r)
{
    bd_emu_block_t b;
    if (bd_emu_scenario_long(sc, "redacted", 0) != 0) {
        b.kind = BD_EMU_BLOCK_REDACTED;
        b.text = bd_emu_base64("bedrock-emulator redacted thinking " +
                               bd_emu_id_chars(in->seed, 16));
    } else {
        b.kind = BD_EMU_BLOCK_REASONING;
        std::string thought = "The user wrote: " + base + " I will repeat it.";
        bd_emu_fill_pieces(&b, thought, 0);
        char hash[17];
        snprintf(hash, sizeof(hash), "%016llx",
                 (unsigned long long)bd_emu_hash(thought.data(), thought.size(),
                                                 14695981039346656037ULL));
        b.signature = bd_emu_base64(std::string("bedrock-emulator-signature:") + hash);
    }
    r->blocks.push_back(b);
}

/* Output tokens a block stands for: one per streamed piece of text or reasoning, the
 * token rule plus a small overhead for a tool call, a fixed 8 for redacted reasoning. */
static long
bd_emu_block_tokens(const bd_emu_block_t *b)
{
    switch (b->kind) {
    case BD_EMU_BLOCK_TOOL: return bd_emu_tokens_of(b->text.size()) + 8;
    case BD_EMU_BLOCK_REDACTED: return 8;
    default: return (long)b->cuts.size();
    }
}

/* Cuts the text blocks at the earliest stop sequence and caps the output at the
 * request's max tokens, as the model would. */
static void
bd_emu_apply_limits(const std::vector<std::string> &stops, long max_tokens, bd_emu_reply_t *r)
{
    for (size_t i = 0; i < r->blocks.size() && !stops.empty(); i++) {
        bd_emu_block_t *b = &r->blocks[i];
        if (b->kind != BD_EMU_BLOCK_TEXT) {
            continue;
        }
        size_t best = std::string::npos;
        const std::string *seq = nullptr;
        for (const std::string &s : stops) {
            size_t at = s.empty() ? std::string::npos : b->text.find(s);
            if (at < best) {
                best = at;
                seq = &s;
            }
        }
        if (seq == nullptr) {
            continue;
        }
        b->text.resize(best);
        while (!b->cuts.empty() && b->cuts.back() >= best) {
            b->cuts.pop_back();
        }
        if (best > 0 && (b->cuts.empty() || b->cuts.back() < best)) {
            b->cuts.push_back((uint32_t)best);
        }
        r->blocks.resize(i + 1);
        r->stop_reason = "stop_sequence";
        r->stop_sequence = *seq;
        break;
    }
    long budget = max_tokens;
    if (budget <= 0) {
        return;
    }
    long used = 0;
    for (size_t i = 0; i < r->blocks.size(); i++) {
        bd_emu_block_t *b = &r->blocks[i];
        long have = bd_emu_block_tokens(b);
        if (used + have <= budget) {
            used += have;
            continue;
        }
        if (b->kind == BD_EMU_BLOCK_TOOL || b->kind == BD_EMU_BLOCK_REDACTED ||
            budget - used <= 0) {
            r->blocks.resize(i);
        } else {
            b->cuts.resize(budget - used);
            b->text.resize(b->cuts.back());
            r->blocks.resize(i + 1);
        }
        r->stop_reason = "max_tokens";
        r->stop_sequence.clear();
        return;
    }
}

static void
bd_emu_plan_pacing(const bd_emu_options_t *opts, const bd_emu_scenario_t *sc,
                   bd_emu_reply_t *r)
{
    r->ttft_ms = bd_emu_scenario_long(sc, "ttft_ms", opts->ttft_ms);
    double tps = opts->tokens_per_sec;
    long tps_key = bd_emu_scenario_long(sc, "tps", -1);
    if (tps_key >= 0) {
        tps = (double)tps_key;
    }
    r->piece_delay_ms = tps > 0 ? (long)(1000.0 / tps) : 0;
    if (sc->name == "slow") {
        r->piece_delay_ms = bd_emu_scenario_long(sc, "delay_ms", 200);
    }
}

static bool
bd_emu_is_plain(const std::string &name)
{
    for (const char *s : bd_emu_plain_scenarios) {
        if (name == s) {
            return true;
        }
    }
    return false;
}

static void
bd_emu_plan_body(const bd_emu_options_t *opts, const bd_emu_scenario_t *sc,
                 const bd_emu_input_t *in, bd_emu_reply_t *r)
{
    const char *given = bd_emu_scenario_get(sc, "text");
    std::string base = in->user_text.empty() ? BD_EMU_DEFAULT_TEXT : in->user_text;
    if (given != nullptr && sc->name != "tool") {
        base = given;
    }
    long tokens = bd_emu_scenario_long(sc, "tokens", opts->output_tokens);
    const std::string &name = sc->name;
    if (name == "tool") {
        if (bd_emu_plan_tool(sc, in, r) != 0) {
            r->error = bd_emu_error_find("validation");
        }
        return;
    }
    if (name == "reasoning") {
        bd_emu_plan_reasoning(sc, in, base, r);
    } else if (name == "stop_sequence") {
        const char *seq = bd_emu_scenario_get(sc, "seq");
        std::string s = !in->stop_sequences.empty() ? in->stop_sequences[0]
                        : seq != nullptr ? seq : "STOP";
        base += " " + s + " this part is never sent";
    } else if (name == "max_tokens") {
        tokens = bd_emu_scenario_long(sc, "tokens", in->max_tokens > 0 ? in->max_tokens : 16);
    } else if (name == "cache") {
        r->cache_read_tokens = bd_emu_scenario_long(sc, "read", 1024);
        r->cache_write_tokens = bd_emu_scenario_long(sc, "write", 512);
    } else if (name == "corrupt") {
        r->disrupt = BD_EMU_DISRUPT_CORRUPT;
        r->disrupt_after = bd_emu_scenario_long(sc, "after", 2);
        const char *kind = bd_emu_scenario_get(sc, "kind");
        r->corrupt_kind = kind ? kind : "json";
        if (tokens == 0 || tokens <= r->disrupt_after) {
            tokens = r->disrupt_after + 4;
        }
    } else if (name == "midstream_error" || name == "cut") {
        r->disrupt = name == "cut" ? BD_EMU_DISRUPT_CUT : BD_EMU_DISRUPT_EXCEPTION;
        r->disrupt_after = bd_emu_scenario_long(sc, "after", 3);
        const char *type = bd_emu_scenario_get(sc, "type");
        r->exception_type = type ? type : "modelStreamErrorException";
        if (tokens > 0 && tokens <= r->disrupt_after) {
            tokens = r->disrupt_after + 1;
        } else if (tokens == 0) {
            tokens = r->disrupt_after + 8;
        }
    }
    bd_emu_add_text(r, base, tokens);
    if (name == "max_tokens") {
        r->stop_reason = "max_tokens";
    }
}

void
bd_emu_plan(const bd_emu_options_t *opts, const bd_emu_scenario_t *sc,
            const bd_emu_input_t *in, bd_emu_reply_t *r)
{
    r->error = nullptr;
    r->blocks.clear();
    r->stop_reason = "end_turn";
    r->stop_sequence.clear();
    r->input_tokens = in->input_tokens;
    r->output_tokens = 0;
    r->cache_read_tokens = 0;
    r->cache_write_tokens = 0;
    r->disrupt = BD_EMU_DISRUPT_NONE;
    r->disrupt_after = 0;
    r->bytewise = bd_emu_scenario_long(sc, "bytewise", 0) != 0;
    bd_emu_plan_pacing(opts, sc, r);

    r->error = bd_emu_error_find(sc->name.c_str());
    if (r->error != nullptr) {
        const char *msg = bd_emu_scenario_get(sc, "message");
        r->error_message = msg ? msg : r->error->message;
        return;
    }
    if (!bd_emu_is_plain(sc->name)) {
        r->error = &bd_emu_unknown_scenario;
        r->error_message = "bedrock-emulator: unknown scenario '" + sc->name + "'";
        return;
    }
    bd_emu_plan_body(opts, sc, in, r);
    if (r->error != nullptr) {
        return;
    }
    if (sc->name != "max_tokens") {
        /* The stop_sequence scenario stops at its own seq= when the request gave none. */
        std::vector<std::string> stops = in->stop_sequences;
        const char *seq = bd_emu_scenario_get(sc, "seq");
        if (stops.empty() && sc->name == "stop_sequence") {
            stops.push_back(seq != nullptr ? seq : "STOP");
        }
        bd_emu_apply_limits(stops, in->max_tokens, r);
    }
    long pieces = 0;
    r->output_tokens = 0;
    for (const bd_emu_block_t &b : r->blocks) {
        pieces += (long)b.cuts.size();
        r->output_tokens += bd_emu_block_tokens(&b);
    }
    r->latency_ms = r->ttft_ms + pieces * r->piece_delay_ms;
    if (r->latency_ms == 0) {
        r->latency_ms = 1;
    }
}

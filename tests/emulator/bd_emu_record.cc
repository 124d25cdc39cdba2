/*
 * bd_emu_record.cc: --record FILE. Tests read what reached "Bedrock" (the operation, the
 * model id and the body the gateway sent) from it, one JSON line per runtime request.
 * Any loop thread: each line goes out in one write(2) on an O_APPEND descriptor.
 */
#include "tests/emulator/bd_emu.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
bd_emu_record(const bd_emu_options_t *opts, const char *operation, const char *model_id,
              json_t *body)
{
    if (opts->record_fd < 0) {
        return;
    }
    json_t *line = json_pack("{s:s,s:s,s:O}", "operation", operation, "model", model_id, "body",
                             body);
    char *dump = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (dump == nullptr) {
        return;
    }
    std::string out(dump);
    free(dump);
    out += '\n';
    ssize_t n = write(opts->record_fd, out.data(), out.size());
    (void)n; /* a test that needs the record fails on its absence */
}

/*
 * bd_ddb_client.h: a DynamoDB client (JSON 1.0 protocol) on one libcurl multi
 * handle: a batch of operations runs concurrently, each signed with SigV4 from the
 * credential provider and retried with full-jitter backoff on throttling, 5xx and
 * transport errors. Calls block the calling thread: the daemon's sync thread or
 * bedrockctl, never a reactor. A client belongs to one thread.
 */
#ifndef BD_DDB_CLIENT_H
#define BD_DDB_CLIENT_H

#include <stdint.h>

#include <atomic>
#include <string>

#include <jansson.h>

#include "core/aws/bd_aws_endpoint.h"
#include "core/aws/bd_credentials.h"

struct bd_ddb_client_options_t {
    bd_aws_endpoint_t endpoint;       /* resolved "dynamodb" endpoint (signing region inside) */
    bd_credentials_provider_t *creds; /* borrowed; must outlive the client */
    std::string ca_file;              /* "" = the system bundle */
    int64_t connect_timeout_ms = 3000;
    int64_t request_timeout_ms = 10000;
    int max_attempts = 4;         /* per operation, the first included */
    int64_t retry_base_ms = 50;   /* full jitter: rand(0, min(base * 2^n, max)) */
    int64_t retry_max_ms = 2000;
    const std::atomic<bool> *abort = nullptr; /* when true, waits and transfers stop */
};

enum bd_ddb_status_e {
    BD_DDB_OK = 0,         /* 200: <reply> holds the answer */
    BD_DDB_AWS_ERROR,      /* DynamoDB said no: <error> is the __type after '#' */
    BD_DDB_TRANSPORT,      /* connection refused, timeout, bad answer: <message> */
    BD_DDB_NO_CREDENTIALS, /* no usable SigV4 credentials */
    BD_DDB_ABORTED,        /* the abort flag was raised */
};

/* One operation: the caller sets target and body; the run fills the rest. */
struct bd_ddb_op_t {
    std::string target; /* "PutItem", "BatchWriteItem", ... */
    std::string body;   /* the request JSON */

    int status = BD_DDB_OK;
    long http_status = 0;
    std::string error;       /* e.g. "ConditionalCheckFailedException" */
    std::string message;     /* DynamoDB's or curl's words */
    json_t *reply = nullptr; /* owned by the op; freed by bd_ddb_op_reset and the destructor */
    int attempts = 0;

    bd_ddb_op_t() = default;
    bd_ddb_op_t(const bd_ddb_op_t &) = delete;
    bd_ddb_op_t &operator=(const bd_ddb_op_t &) = delete;
    ~bd_ddb_op_t() { json_decref(reply); }
};

struct bd_ddb_client_t;

/* Returns a client, or null with <err> (curl refused). */
bd_ddb_client_t *bd_ddb_client_create(const bd_ddb_client_options_t *opts, std::string *err);
void bd_ddb_client_destroy(bd_ddb_client_t *c);

/* Runs <ops> concurrently until each succeeded, failed for good or ran out of
 * attempts. */
void bd_ddb_run(bd_ddb_client_t *c, bd_ddb_op_t *ops, size_t n);

/* Bodies written as their ops start, for runs whose bodies would not all fit in
 * memory at once (a push round of thousands of rows): fill(arg, i, body) appends
 * op <i>'s body to <body>, which is empty but keeps the room of a body sent
 * before. Only the window's bodies exist at a time: an op's body is taken back
 * (its ops' body left empty) once the op has ended, whatever its status. */
struct bd_ddb_filler_t {
    void (*fill)(void *arg, size_t i, std::string *body);
    void *arg;
};

/* The same with at most <window> ops under way (one waiting to retry counts),
 * started in order as others end. With <stop_on_failure>, once an op failed for
 * good the ops not yet started are not sent (status BD_DDB_ABORTED, "not sent:
 * ..."), so a round against a missing table or an unreachable endpoint costs one
 * window of attempts, not all of them. With <filler>, the ops' bodies are written
 * by it (see above). */
void bd_ddb_run_window(bd_ddb_client_t *c, bd_ddb_op_t *ops, size_t n, size_t window,
                       bool stop_on_failure, const bd_ddb_filler_t *filler = nullptr);

/* One operation with <body> (taken: decref'd here). Returns the status; <op> holds
 * the details. */
int bd_ddb_call(bd_ddb_client_t *c, const char *target, json_t *body, bd_ddb_op_t *op);

/* Whether an error name or HTTP status is worth another attempt. */
bool bd_ddb_retryable(long http_status, const std::string &error);

/* "ResourceNotFoundException: Requested resource not found" or the transport message. */
std::string bd_ddb_describe(const bd_ddb_op_t *op);

/* Counters of a client (its thread, or after it stopped). */
struct bd_ddb_stats_t {
    uint64_t calls, attempts, retries, failures;
};
void bd_ddb_client_stats(const bd_ddb_client_t *c, bd_ddb_stats_t *out);

/* A credential provider for DynamoDB: the SDKs' default chain (environment,
 * profile, web identity, container, IMDS) with a Bedrock API key ignored, since
 * DynamoDB accepts SigV4 only. <region> is for STS. Waits up to <wait_ms> for the
 * first resolution. Returns null with <err> only on bad options. */
bd_credentials_provider_t *bd_ddb_credentials_create(const char *region, int64_t wait_ms,
                                                     std::string *err);

#endif

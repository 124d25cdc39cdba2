/*
 * bd_curl_test_server.h: a scripted HTTP/1.1 upstream for the bd_curl tests: an evhttp
 * server on 127.0.0.1:0 running on its own thread and event_base. The test thread starts and
 * stops it and reads its atomic counters; everything else runs on the server thread.
 */
#ifndef BD_CURL_TEST_SERVER_H
#define BD_CURL_TEST_SERVER_H

#include <atomic>
#include <string>

struct test_server_s;
typedef struct test_server_s test_server_t;

/* Counters written by the server thread, read by the test thread. */
typedef struct {
    std::atomic<int> connections;       /* TCP connections accepted */
    std::atomic<int> requests;          /* requests received */
    std::atomic<int> streams_completed; /* /stream replies sent to the end */
    std::atomic<int> streams_aborted;   /* /stream and /slow replies cut by a closed connection */
} test_server_counters_t;

/*
 * Paths:
 *   /json?idle_close_ms=I          200 {"ok":true}; with I, the server closes the
 *                                  connection once it is idle for I ms
 *   /echo                          the request body back; X-Echo-Method, X-Echo-Content-Type,
 *                                  X-Echo-Test (request X-Test), X-Echo-Expect ("none" if absent)
 *   /stream?n=N&delay_ms=D&size=S  chunked: piece 0 at once, then one piece every D ms
 *   /slow?delay_ms=D               200 {"ok":true} after D ms
 *   /never                         no answer at all
 */
test_server_t *test_server_start(void);
/* The same over TLS with the PEM <cert_file> and <key_file>. */
test_server_t *test_server_start_tls(const char *cert_file, const char *key_file);
void test_server_stop(test_server_t *s);
int test_server_port(const test_server_t *s);
test_server_counters_t *test_server_counters(test_server_t *s);

/* The bytes of piece <i> of a /stream reply with pieces of <size> bytes (size >= 16). */
std::string test_stream_piece(int i, int size);
std::string test_stream_body(int n, int size);

#endif

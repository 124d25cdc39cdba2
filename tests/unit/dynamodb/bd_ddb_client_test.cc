/*
 * bd_ddb_client_test.cc: the client's window against an endpoint where nothing
 * listens (a real refused connection, no server): every op ends with a transport
 * error after its attempts; with stop_on_failure, ops not started when the first
 * failed are not sent at all, and say so; a filler writes each body once, as its
 * op first starts. And calls go through a proxy the environment names, and only
 * then (the client looks once, when it is made).
 */
#include "modules/dynamodb/bd_ddb_client.h"
#include "tests/unit/dynamodb/bd_ddb_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

/* A loopback port nothing listens on: bound, then closed. */
static int
ClosedPort()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    EXPECT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

class DdbClient : public ::testing::Test {
protected:
    void SetUp() override
    {
        setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
        std::string err;
        creds_ = bd_ddb_credentials_create("us-east-1", 3000, &err);
        ASSERT_NE(creds_, nullptr) << err;
        bd_ddb_client_options_t o;
        std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
        char buf[256];
        ASSERT_EQ(bd_aws_endpoint_parse_url(url.c_str(), &o.endpoint, buf, sizeof(buf)), 0) << buf;
        o.endpoint.region = "us-east-1";
        o.creds = creds_;
        o.max_attempts = 2;
        o.retry_base_ms = 1;
        o.retry_max_ms = 2;
        client_ = bd_ddb_client_create(&o, &err);
        ASSERT_NE(client_, nullptr) << err;
    }
    void TearDown() override
    {
        bd_ddb_client_destroy(client_);
        bd_credentials_destroy(creds_);
    }
    /* <n> PutItem ops with <body> ("" for a filler to write) */
    std::vector<bd_ddb_op_t> Ops(size_t n, const char *body = "{}")
    {
        std::vector<bd_ddb_op_t> ops(n);
        for (bd_ddb_op_t &op : ops) {
            op.target = "PutItem";
            op.body = body;
        }
        return ops;
    }
    bd_credentials_provider_t *creds_ = nullptr;
    bd_ddb_client_t *client_ = nullptr;
};

TEST_F(DdbClient, WindowRunsEveryOpToItsLastAttempt)
{
    std::vector<bd_ddb_op_t> ops = Ops(7);
    bd_ddb_run_window(client_, ops.data(), ops.size(), 3, false);
    for (const bd_ddb_op_t &op : ops) {
        EXPECT_EQ(op.status, BD_DDB_TRANSPORT);
        EXPECT_EQ(op.attempts, 2);
    }
    bd_ddb_stats_t st;
    bd_ddb_client_stats(client_, &st);
    EXPECT_EQ(st.calls, 7u);
    EXPECT_EQ(st.attempts, 14u);
    EXPECT_EQ(st.failures, 7u);
}

TEST_F(DdbClient, StopOnFailureSendsNoMoreAfterAFinalFailure)
{
    std::vector<bd_ddb_op_t> ops = Ops(6);
    bd_ddb_run_window(client_, ops.data(), ops.size(), 1, true);
    EXPECT_EQ(ops[0].status, BD_DDB_TRANSPORT) << bd_ddb_describe(&ops[0]);
    EXPECT_EQ(ops[0].attempts, 2);
    for (size_t i = 1; i < ops.size(); i++) {
        EXPECT_EQ(ops[i].status, BD_DDB_ABORTED) << i;
        EXPECT_EQ(ops[i].attempts, 0) << i;
        EXPECT_EQ(bd_ddb_describe(&ops[i]), "not sent: an earlier operation failed");
    }
}

TEST_F(DdbClient, RunIsAWindowOfAll)
{
    std::vector<bd_ddb_op_t> ops = Ops(4);
    bd_ddb_run(client_, ops.data(), ops.size());
    for (const bd_ddb_op_t &op : ops) {
        EXPECT_EQ(op.status, BD_DDB_TRANSPORT);
        EXPECT_EQ(op.attempts, 2);
    }
}

/* Records the ops a filler was asked for, and writes a body naming the op. */
struct FillLog {
    std::vector<size_t> asked;
};

static void
FillBody(void *arg, size_t i, std::string *body)
{
    FillLog *log = (FillLog *)arg;
    EXPECT_TRUE(body->empty());
    log->asked.push_back(i);
    body->append("{\"op\":" + std::to_string(i) + "}");
}

/* Runs <ops> with a filler; returns the ops it was asked for, in order. */
static std::vector<size_t>
RunFilled(bd_ddb_client_t *c, std::vector<bd_ddb_op_t> *ops, size_t window, bool stop)
{
    FillLog log;
    bd_ddb_filler_t filler = {FillBody, &log};
    bd_ddb_run_window(c, ops->data(), ops->size(), window, stop, &filler);
    return log.asked;
}

TEST_F(DdbClient, FillerWritesEachBodyOnceAndTakesItBack)
{
    std::vector<bd_ddb_op_t> ops = Ops(7, "");
    std::vector<size_t> asked = RunFilled(client_, &ops, 3, false);
    /* once per op, in order, although each op was attempted twice */
    ASSERT_EQ(asked.size(), 7u);
    for (size_t i = 0; i < asked.size(); i++) {
        EXPECT_EQ(asked[i], i);
    }
    for (const bd_ddb_op_t &op : ops) {
        EXPECT_EQ(op.attempts, 2);
        EXPECT_EQ(op.status, BD_DDB_TRANSPORT);
        EXPECT_TRUE(op.body.empty()); /* taken back once the op ended */
    }
}

TEST_F(DdbClient, FillerIsNotAskedForOpsNeverSent)
{
    std::vector<bd_ddb_op_t> ops = Ops(5, "");
    EXPECT_EQ(RunFilled(client_, &ops, 1, true), std::vector<size_t>{0});
    EXPECT_EQ(ops[4].status, BD_DDB_ABORTED);
}

static void
ClearProxyEnv()
{
    static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                        "ALL_PROXY", "no_proxy", "NO_PROXY"};
    for (const char *name : names) {
        unsetenv(name);
    }
}

/* A client for the endpoint on <port>, made in the environment as it is. */
static bd_ddb_client_t *
ClientNow(bd_credentials_provider_t *creds, int port)
{
    bd_ddb_client_options_t o;
    std::string url = "http://127.0.0.1:" + std::to_string(port);
    char buf[256];
    EXPECT_EQ(bd_aws_endpoint_parse_url(url.c_str(), &o.endpoint, buf, sizeof(buf)), 0) << buf;
    o.endpoint.region = "us-east-1";
    o.creds = creds;
    o.max_attempts = 1;
    std::string err;
    bd_ddb_client_t *c = bd_ddb_client_create(&o, &err);
    EXPECT_NE(c, nullptr) << err;
    return c;
}

/* How a call ended. */
struct Ended {
    int status;
    std::string said;
};

/* Runs one PutItem on <c>, then destroys it and clears the proxy variables. */
static Ended
OneCall(bd_ddb_client_t *c)
{
    std::vector<bd_ddb_op_t> ops(1);
    ops[0].target = "PutItem";
    ops[0].body = "{}";
    bd_ddb_run(c, ops.data(), 1);
    bd_ddb_client_destroy(c);
    ClearProxyEnv();
    return {ops[0].status, bd_ddb_describe(&ops[0])};
}

TEST_F(DdbClient, CallsGoThroughTheProxyTheEnvironmentNames)
{
    Responder proxy;
    int closed = ClosedPort();
    std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());

    ClearProxyEnv();
    setenv("http_proxy", proxy_url.c_str(), 1);
    Ended op = OneCall(ClientNow(creds_, closed));
    EXPECT_EQ(op.status, BD_DDB_OK) << op.said;
    ASSERT_EQ(proxy.calls().size(), 1u);
    EXPECT_EQ(proxy.calls()[0].line, "POST http://127.0.0.1:" + std::to_string(closed) + "/ HTTP/1.1");
    EXPECT_EQ(proxy.calls()[0].target, "PutItem");

    /* no_proxy exempts the host: straight to the endpoint, where nothing listens */
    setenv("http_proxy", proxy_url.c_str(), 1);
    setenv("no_proxy", "127.0.0.1", 1);
    op = OneCall(ClientNow(creds_, closed));
    EXPECT_EQ(op.status, BD_DDB_TRANSPORT) << op.said;

    /* and without any variable, straight to the endpoint too */
    op = OneCall(ClientNow(creds_, closed));
    EXPECT_EQ(op.status, BD_DDB_TRANSPORT) << op.said;
    EXPECT_EQ(proxy.calls().size(), 1u);
}

/*
 * bd_ddb_usage_test.cc: a push round against a DynamoDB that hands items back.
 * dynalite never answers BatchWriteItem with UnprocessedItems (real DynamoDB does
 * when a partition is throttled), so a small HTTP responder on loopback plays that
 * part: it hands back the first item of the first call to arrive, and the round
 * must send that item again, alone, and count every row once. The same round's
 * aggregate updates are read back too: sums by key, model and month, across a
 * change of day, for rows of several keys and models interleaved.
 */
#include "modules/dynamodb/bd_ddb_usage.h"
#include "modules/dynamodb/bd_ddb_budget.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>
#include <vector>

/* One call as the responder read it. */
struct Call {
    std::string target, body;
};

/* A loopback HTTP/1.1 responder: a thread per connection, keep-alive. */
class Responder {
public:
    Responder()
    {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        EXPECT_EQ(bind(fd_, (struct sockaddr *)&a, sizeof(a)), 0);
        EXPECT_EQ(listen(fd_, 16), 0);
        EXPECT_EQ(getsockname(fd_, (struct sockaddr *)&a, &len), 0);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { Accept(); });
    }
    ~Responder()
    {
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        acceptor_.join();
        {
            /* connections a client still holds: their threads wait in read() */
            std::lock_guard<std::mutex> g(mu_);
            for (int c : fds_) {
                shutdown(c, SHUT_RDWR);
            }
        }
        for (std::thread &t : conns_) {
            t.join();
        }
    }
    int port() const { return port_; }
    std::vector<Call> calls()
    {
        std::lock_guard<std::mutex> g(mu_);
        return calls_;
    }
    std::string handed_back()
    {
        std::lock_guard<std::mutex> g(mu_);
        return handed_back_;
    }

private:
    void Accept()
    {
        for (;;) {
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) {
                return;
            }
            {
                std::lock_guard<std::mutex> g(mu_);
                fds_.push_back(c);
            }
            conns_.emplace_back([this, c] { Serve(c); });
        }
    }
    void Serve(int c)
    {
        std::string in;
        char buf[65536];
        for (;;) {
            size_t head_end;
            while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
                ssize_t n = read(c, buf, sizeof(buf));
                if (n <= 0) {
                    close(c);
                    return;
                }
                in.append(buf, (size_t)n);
            }
            std::string head = in.substr(0, head_end);
            size_t length = 0;
            std::string target;
            for (size_t at = 0; at < head.size();) {
                size_t eol = head.find("\r\n", at);
                std::string line = head.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
                if (strncasecmp(line.c_str(), "Content-Length:", 15) == 0) {
                    length = strtoul(line.c_str() + 15, nullptr, 10);
                }
                if (strncasecmp(line.c_str(), "X-Amz-Target:", 13) == 0) {
                    target = line.substr(line.find('.') + 1);
                }
                at = eol == std::string::npos ? head.size() : eol + 2;
            }
            while (in.size() < head_end + 4 + length) {
                ssize_t n = read(c, buf, sizeof(buf));
                if (n <= 0) {
                    close(c);
                    return;
                }
                in.append(buf, (size_t)n);
            }
            std::string body = in.substr(head_end + 4, length);
            in.erase(0, head_end + 4 + length);
            std::string answer = Answer(target, body);
            std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                              "Content-Length: " + std::to_string(answer.size()) + "\r\n\r\n" + answer;
            if (write(c, out.data(), out.size()) != (ssize_t)out.size()) {
                close(c);
                return;
            }
        }
    }
    /* The first BatchWriteItem gets its first item handed back; all else succeeds. */
    std::string Answer(const std::string &target, const std::string &body)
    {
        std::lock_guard<std::mutex> g(mu_);
        calls_.push_back({target, body});
        if (target != "BatchWriteItem" || !handed_back_.empty()) {
            return "{\"UnprocessedItems\":{}}";
        }
        json_error_t e;
        json_t *req = json_loads(body.c_str(), 0, &e);
        json_t *first = json_array_get(json_object_get(json_object_get(req, "RequestItems"), "usage"), 0);
        json_t *pk = json_object_get(json_object_get(json_object_get(json_object_get(first, "PutRequest"),
                                                                     "Item"), "pk"), "S");
        handed_back_ = json_string_value(pk) != nullptr ? json_string_value(pk) : "?";
        json_t *reply = json_pack("{s:{s:[O]}}", "UnprocessedItems", "usage", first);
        char *text = json_dumps(reply, JSON_COMPACT);
        std::string s = text;
        free(text);
        json_decref(reply);
        json_decref(req);
        return s;
    }

    int fd_ = -1;
    int port_ = 0;
    std::thread acceptor_;
    std::vector<std::thread> conns_;
    std::mutex mu_;
    std::vector<int> fds_;
    std::vector<Call> calls_;
    std::string handed_back_; /* the pk of the item handed back */
};

TEST(DdbUsagePush, HandedBackItemsAreSentAgainAndAggregatesAddUp)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    Responder ddb;
    std::string err;
    bd_credentials_provider_t *creds = bd_ddb_credentials_create("us-east-1", 3000, &err);
    ASSERT_NE(creds, nullptr) << err;
    bd_ddb_client_options_t o;
    std::string url = "http://127.0.0.1:" + std::to_string(ddb.port());
    char buf[256];
    ASSERT_EQ(bd_aws_endpoint_parse_url(url.c_str(), &o.endpoint, buf, sizeof(buf)), 0) << buf;
    o.endpoint.region = "us-east-1";
    o.creds = creds;
    bd_ddb_client_t *client = bd_ddb_client_create(&o, &err);
    ASSERT_NE(client, nullptr) << err;

    bd_ddb_conf_t conf;
    conf.usage_table = "usage";
    conf.usage_push_concurrency = 3;
    conf.usage_item_ttl_ms = 0;
    bd_ddb_price_t price;
    price.model = "m-a";
    price.input = 2; /* USD per million tokens: 2 micro-USD a token */
    price.output = price.cache_read = price.cache_write = 0;
    conf.prices.push_back(price);
    bd_ddb_round_t r;
    r.seq = 1;
    const int64_t dec31 = 1735689599000LL; /* 2024-12-31 23:59:59 UTC */
    for (int i = 0; i < 60; i++) { /* three BatchWriteItem calls: 25, 25 and 10 rows */
        bd_ddb_usage_row_t row{}; /* every field zero, then the ones that matter */
        row.id = i + 1;
        row.rec.request_id = "req-" + std::to_string(i);
        /* the rows of three keys and two models interleave; the last 12 are of the
         * next day, and month */
        row.rec.time_ms = i < 48 ? dec31 : dec31 + 2000;
        row.rec.key_id = "key_" + std::to_string(i % 3);
        row.rec.model = i % 2 ? "m-a" : "m-b";
        row.rec.status = i % 10 == 0 ? 500 : 200;
        row.rec.input_tokens = 10;
        r.rows.push_back(row);
    }
    r.lo = 0;
    r.hi = 60;
    bd_ddb_push_stats_t st = {};
    ASSERT_EQ(bd_ddb_push_round(client, &conf, "task1", &r, &st, &err), 0) << err;
    EXPECT_EQ(st.items, 60u);
    EXPECT_EQ(st.unprocessed, 1u);

    /* every row reached the responder once, and the item handed back a second
     * time, alone, in a call of its own */
    std::string again = ddb.handed_back();
    ASSERT_EQ(again.compare(0, 8, "req#req-"), 0) << again;
    std::vector<Call> calls = ddb.calls();
    std::vector<std::string> batches;
    std::map<std::string, std::string> sums; /* "pk sk" -> "requests errors input cost" */
    for (const Call &c : calls) {
        if (c.target == "BatchWriteItem") {
            batches.push_back(c.body);
        } else if (c.target == "UpdateItem") {
            json_error_t e;
            json_t *j = json_loads(c.body.c_str(), 0, &e);
            ASSERT_NE(j, nullptr) << c.body;
            std::string item, n;
            json_t *key = json_object_get(j, "Key");
            item = std::string(json_string_value(json_object_get(json_object_get(key, "pk"), "S"))) +
                   " " + json_string_value(json_object_get(json_object_get(key, "sk"), "S"));
            json_t *v = json_object_get(j, "ExpressionAttributeValues");
            for (const char *name : {":r", ":e", ":i", ":c"}) {
                n += std::string(n.empty() ? "" : " ") +
                     json_string_value(json_object_get(json_object_get(v, name), "N"));
            }
            sums[item] = n;
            json_decref(j);
        }
    }
    /* each key has 16 rows on Dec 31 and 4 on Jan 1; the errors are rows 0, 10,
     * ..., 50; m-a (the odd rows) costs 20 micro-USD a row, m-b has no price */
    std::map<std::string, std::string> want = {
        {"agg#key#key_0 2024-12-31", "16 2 160 160"},
        {"agg#key#key_0 2025-01-01", "4 0 40 40"},
        {"agg#key#key_1 2024-12-31", "16 2 160 160"},
        {"agg#key#key_1 2025-01-01", "4 0 40 40"},
        {"agg#key#key_2 2024-12-31", "16 1 160 160"},
        {"agg#key#key_2 2025-01-01", "4 1 40 40"},
        {"agg#keymonth#key_0 2024-12", "16 2 160 160"},
        {"agg#keymonth#key_0 2025-01", "4 0 40 40"},
        {"agg#keymonth#key_1 2024-12", "16 2 160 160"},
        {"agg#keymonth#key_1 2025-01", "4 0 40 40"},
        {"agg#keymonth#key_2 2024-12", "16 1 160 160"},
        {"agg#keymonth#key_2 2025-01", "4 1 40 40"},
        {"agg#model#m-a 2024-12-31", "24 0 240 480"},
        {"agg#model#m-a 2025-01-01", "6 0 60 120"},
        {"agg#model#m-b 2024-12-31", "24 5 240 0"},
        {"agg#model#m-b 2025-01-01", "6 1 60 0"},
    };
    EXPECT_EQ(sums, want);
    ASSERT_EQ(batches.size(), 4u);
    for (int i = 0; i < 60; i++) {
        std::string pk = "\"req#req-" + std::to_string(i) + "\"";
        int seen = 0;
        for (const std::string &b : batches) {
            for (size_t at = b.find(pk); at != std::string::npos; at = b.find(pk, at + 1)) {
                seen++;
            }
        }
        EXPECT_EQ(seen, pk == "\"" + again + "\"" ? 2 : 1) << pk;
    }
    EXPECT_NE(batches[3].find("\"" + again + "\""), std::string::npos);
    EXPECT_EQ(batches[3].find("\"PutRequest\""), batches[3].rfind("\"PutRequest\"")); /* alone */
    bd_ddb_client_destroy(client);
    bd_credentials_destroy(creds);
}

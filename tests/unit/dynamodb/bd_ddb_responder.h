/*
 * bd_ddb_responder.h: a small DynamoDB on loopback for the unit tests, where
 * dynalite cannot play the part: it records every call (request line, target, body)
 * and hands back the first item of the first BatchWriteItem as UnprocessedItems, as
 * a throttled DynamoDB does; every other call succeeds. It answers whatever target
 * a request line names, so it serves as a forward proxy too.
 */
#ifndef BD_DDB_RESPONDER_H
#define BD_DDB_RESPONDER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <jansson.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

/* One call as the responder read it. */
struct Call {
    std::string line, target, body; /* line: the request line */
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
            std::string answer = Answer(head.substr(0, head.find("\r\n")), target, body);
            std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                              "Content-Length: " + std::to_string(answer.size()) + "\r\n\r\n" + answer;
            if (write(c, out.data(), out.size()) != (ssize_t)out.size()) {
                close(c);
                return;
            }
        }
    }
    /* The first BatchWriteItem gets its first item handed back; all else succeeds. */
    std::string Answer(const std::string &line, const std::string &target, const std::string &body)
    {
        std::lock_guard<std::mutex> g(mu_);
        calls_.push_back({line, target, body});
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

#endif

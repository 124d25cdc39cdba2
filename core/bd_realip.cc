/*
 * bd_realip.cc: the client address behind trusted proxies (see the header).
 */
#include "core/bd_realip.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

const char *
bd_realip_set_trusted(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                      void *conf)
{
    std::vector<bd_cidr_t> *list = (std::vector<bd_cidr_t> *)((char *)conf + d->offset);
    for (size_t i = 1; i < node->args.size(); i++) {
        bd_cidr_t range;
        if (bd_cidr_parse(node->args[i].c_str(), &range) != 0) {
            cf->errbuf = "invalid address range \"" + node->args[i] +
                         "\" in \"trusted_proxies\" directive";
            return cf->errbuf.c_str();
        }
        list->push_back(range);
    }
    return nullptr;
}

static bool
bd_realip_is_addr(const std::string &s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

/* The comma-separated hops of <xff>, blanks trimmed, empty ones dropped. */
static std::vector<std::string>
bd_realip_hops(const std::string &xff)
{
    std::vector<std::string> hops;
    size_t i = 0;
    while (i <= xff.size()) {
        size_t comma = xff.find(',', i);
        size_t end = comma == std::string::npos ? xff.size() : comma;
        size_t from = i;
        while (from < end && (xff[from] == ' ' || xff[from] == '\t')) {
            from++;
        }
        while (end > from && (xff[end - 1] == ' ' || xff[end - 1] == '\t')) {
            end--;
        }
        if (end > from) {
            hops.push_back(xff.substr(from, end - from));
        }
        if (comma == std::string::npos) {
            break;
        }
        i = comma + 1;
    }
    return hops;
}

std::string
bd_realip_resolve(const std::vector<bd_cidr_t> &trusted, const std::string &peer,
                  const std::string &xff)
{
    if (trusted.empty() || !bd_cidr_match(trusted, peer.c_str())) {
        return peer;
    }
    std::string client = peer;
    std::vector<std::string> hops = bd_realip_hops(xff);
    for (size_t i = hops.size(); i-- > 0;) {
        if (!bd_realip_is_addr(hops[i])) {
            break; /* garbage a client wrote: keep the last hop a proxy vouched for */
        }
        client = hops[i];
        if (!bd_cidr_match(trusted, client.c_str())) {
            break;
        }
    }
    return client;
}

std::string
bd_realip_client(const std::vector<bd_cidr_t> &trusted, const char *peer,
                 const struct evkeyvalq *headers)
{
    if (trusted.empty()) {
        return peer;
    }
    std::string xff;
    for (const struct evkeyval *h = headers->tqh_first; h != nullptr; h = h->next.tqe_next) {
        if (strcasecmp(h->key, "x-forwarded-for") == 0) {
            if (!xff.empty()) {
                xff.push_back(',');
            }
            xff.append(h->value);
        }
    }
    return bd_realip_resolve(trusted, peer, xff);
}

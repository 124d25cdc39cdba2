/*
 * bd_realip.h: the client address of a request (nginx's real_ip idea). Behind a
 * load balancer every connection comes from the balancer; the client is named in
 * X-Forwarded-For. That header is anyone's to write, so it is believed only when
 * the connection comes from an address of `trusted_proxies`, and then read from
 * the right: each hop appends the address it saw, so the first address from the
 * right that is not a trusted proxy is the client. Pure; any thread.
 *
 *   trusted_proxies 10.0.0.0/16;   # the VPC the ALB connects from
 */
#ifndef BD_REALIP_H
#define BD_REALIP_H

#include <string>
#include <vector>

#include "core/bd_cidr.h"
#include "core/bd_conf.h"

struct evkeyvalq;

/* The `trusted_proxies CIDR...;` setter: appends to the std::vector<bd_cidr_t> at
 * the directive's offset. */
const char *bd_realip_set_trusted(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                  const bd_directive_t *d, void *conf);

/* The client for a connection from <peer> carrying <xff> (every X-Forwarded-For
 * value joined by ","; may be empty): <peer> unless it is trusted; else the
 * rightmost untrusted address of <xff>; when all are trusted, the leftmost; an
 * entry that is not an address stops the walk at the last good one. */
std::string bd_realip_resolve(const std::vector<bd_cidr_t> &trusted, const std::string &peer,
                              const std::string &xff);

/* bd_realip_resolve with the X-Forwarded-For headers of <headers>. */
std::string bd_realip_client(const std::vector<bd_cidr_t> &trusted, const char *peer,
                             const struct evkeyvalq *headers);

#endif

/*
 * bd_admin.h: the operator's console: a listener of its own (admin_listen) with
 * admin tokens, a JSON admin API with bedrockctl's semantics and an audit trail,
 * and a live status page. Served by one admin thread of its own, so the store
 * and DynamoDB calls of the API never run on a reactor.
 *
 *   admin_listen 127.0.0.1:9180;                 # loopback; a port alone means loopback
 *   admin_token ops sha256:<hex> read-write;     # or env:NAME, or file:/path
 */
#ifndef BD_ADMIN_H
#define BD_ADMIN_H

#include "core/bd_module.h"

extern bd_module_t bd_admin_module;

#endif

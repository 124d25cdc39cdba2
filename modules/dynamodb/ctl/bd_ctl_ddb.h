/*
 * bd_ctl_ddb.h: bedrockctl's DynamoDB side: opening the tables a conf names, the
 * keys, models and usage of the fleet, and `bedrockctl dynamodb ...`.
 */
#ifndef BD_CTL_DDB_H
#define BD_CTL_DDB_H

#include <string>
#include <vector>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/store/ctl/bd_ctl.h"

struct bd_ctl_ddb_t {
    bd_ddb_conf_t conf;
    bd_credentials_provider_t *creds;
    bd_ddb_client_t *client;
};

/* Opens a client for <conf> (copied). Returns null with <err> set. */
bd_ctl_ddb_t *bd_ctl_ddb_open(const bd_ddb_conf_t *conf, std::string *err);
void bd_ctl_ddb_close(bd_ctl_ddb_t *d);

/* `bedrockctl dynamodb create-tables | check | import-keys ...`. */
int bd_ctl_dynamodb(bd_ctl_ddb_t *d, const std::vector<std::string> &args);

#endif

/*
 * bd_usage_scan.h: finds who a request is for without parsing the whole body:
 * the Anthropic `metadata.user_id` or the OpenAI `user` at the top level of a
 * JSON object. A single forward scan that allocates nothing but the answer.
 * Pure; any thread.
 */
#ifndef BD_USAGE_SCAN_H
#define BD_USAGE_SCAN_H

#include <stddef.h>

#include <string>

/* The longest user id kept; longer ones are cut. */
enum { BD_USAGE_USER_MAX = 256 };

/* Sets <user> to metadata.user_id (or else `user`) of the JSON object in
 * <body>; leaves it empty when there is none or the body is not an object. */
void bd_usage_scan_user(const char *body, size_t len, std::string *user);

#endif

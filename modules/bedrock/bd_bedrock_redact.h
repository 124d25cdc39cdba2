/*
 * bd_bedrock_redact.h: upstream failures made safe to log and to show a client (no
 * credentials, signatures, tokens, internal hosts or addresses). Pure, any thread.
 */
#ifndef BD_BEDROCK_REDACT_H
#define BD_BEDROCK_REDACT_H

#include <string>

#include "modules/bedrock/bd_bedrock.h"

/* Cuts out of <text> what may be a secret or an address: runs of 32 or more base64
 * characters (keys, session tokens, signatures), AWS key ids, URLs, amazonaws.com
 * hosts and IPv4 addresses; each becomes "<redacted>". For logs and clients alike. */
void bd_bedrock_redact(std::string *text);

/* Turns the (already redacted) <message> of a failed call of kind <kind>
 * (bd_bedrock_result_kind_e) into what the client sees: transport failures and
 * refused gateway credentials get a fixed sentence, anything else is redacted. */
void bd_bedrock_client_message(int kind, const std::string &error_name, std::string *message);

#endif

/*
 * bd_bedrock_redact.cc: what of an upstream failure may leave the process. Bedrock's
 * own messages can carry the gateway's secrets (an InvalidSignatureException quotes
 * the canonical request: the session token, the endpoint host, the signed headers),
 * and transport errors name internal hosts and ports. The log keeps the detail with
 * anything that looks like a secret or an address cut out; the client gets the error
 * type and a message that says what happened without either. Pure, any thread.
 */
#include "modules/bedrock/bd_bedrock_redact.h"

#include <string.h>

static bool
bd_redact_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* One whitespace-delimited word: an address, an AWS key id, or a URL. */
static bool
bd_redact_word_secret(const std::string &w)
{
    if (w.find("://") != std::string::npos || w.find("amazonaws.com") != std::string::npos ||
        w.compare(0, 5, "host:") == 0) {
        return true;
    }
    if (w.size() >= 20 && (w.compare(0, 4, "AKIA") == 0 || w.compare(0, 4, "ASIA") == 0)) {
        return true;
    }
    /* a dotted IPv4 address, with or without a port */
    int dots = 0, digits = 0;
    for (char c : w) {
        if (c == '.') {
            dots++;
        } else if (c >= '0' && c <= '9') {
            digits++;
        }
    }
    return dots == 3 && digits >= 4 && strspn(w.c_str(), "0123456789.:'\"()[],") == w.size();
}

void
bd_bedrock_redact(std::string *text)
{
    const std::string &s = *text;
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        bool word_start = i == 0 || strchr(" \t\r\n", s[i - 1]) != nullptr;
        if (word_start && !strchr(" \t\r\n", s[i])) {
            size_t end = i + strcspn(s.c_str() + i, " \t\r\n");
            if (bd_redact_word_secret(s.substr(i, end - i))) {
                out += "<redacted>";
                i = end;
                continue;
            }
        }
        /* runs of base64 of 32 or more, wherever they start (also after "name:"):
         * secret keys, session tokens, signatures, hashes */
        if (bd_redact_b64(s[i]) && (i == 0 || !bd_redact_b64(s[i - 1]))) {
            size_t j = i;
            while (j < s.size() && bd_redact_b64(s[j])) {
                j++;
            }
            if (j - i >= 32) {
                out += "<redacted>";
                i = j;
                continue;
            }
        }
        out += s[i++];
    }
    text->swap(out);
}

/* Exceptions that say the gateway's own credentials or signature were refused: their
 * text is about the gateway, never the client's business. */
static bool
bd_redact_credential_error(const std::string &name)
{
    static const char *const names[] = {
        "UnrecognizedClientException", "InvalidSignatureException",
        "ExpiredTokenException",       "IncompleteSignatureException",
        "MissingAuthenticationTokenException", "InvalidClientTokenId",
        "SignatureDoesNotMatch",       "AccessDeniedException",
        "UnauthorizedException",
    };
    for (const char *n : names) {
        if (name == n) {
            return true;
        }
    }
    return false;
}

void
bd_bedrock_client_message(int kind, const std::string &error_name, std::string *message)
{
    if (kind == BD_BEDROCK_TRANSPORT) {
        *message = error_name == "ModelTimeoutException" ? "Bedrock did not answer in time"
                                                         : "Bedrock could not be reached";
        return;
    }
    if (bd_redact_credential_error(error_name)) {
        *message = "Bedrock refused the gateway's credentials (" + error_name +
                   "); the operator has been told";
        return;
    }
    bd_bedrock_redact(message);
}

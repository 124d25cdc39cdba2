/*
 * bd_convert_fates_test.cc: the fates of the beta-gated Messages members and of the
 * anthropic-beta header on both routes (README "Messages API fields on Bedrock"):
 * passed through with the model's betas, translated, left out where the outcome is the
 * same, or refused with a 400 naming the member. Single-threaded test code.
 */
#include <gtest/gtest.h>

#include <string>

#include "modules/convert/bd_convert.h"

namespace
{

/* A Claude model whose family accepts context management and tool search, and renames
 * Claude Code's advanced-tool-use beta. */
bd_convert_model_t
Model(bd_route_e route, bool gated_betas)
{
    bd_convert_model_t m;
    m.client_name = "claude";
    m.bedrock_id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    m.route = route;
    m.max_output_tokens = 0;
    m.temperature_top_p_exclusive = false;
    m.supports_thinking = true;
    m.allow_url_sources = false;
    m.allowed_betas = {"interleaved-thinking-2025-05-14"};
    if (gated_betas) {
        m.allowed_betas.push_back("context-management-2025-06-27");
        m.allowed_betas.push_back("tool-search-tool-2025-10-19");
        m.allowed_betas.push_back("effort-2025-11-24");
        m.renamed_betas = {{"advanced-tool-use-2025-11-20", "tool-search-tool-2025-10-19"}};
    }
    return m;
}

const char *const CLAUDE_CODE_BETAS =
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "advanced-tool-use-2025-11-20,effort-2025-11-24";

json_t *
Body(const char *extra)
{
    std::string text = std::string("{\"model\":\"claude\",\"max_tokens\":100,") +
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
    json_t *j = json_loads(text.c_str(), 0, nullptr);
    EXPECT_NE(j, nullptr) << text;
    return j;
}

/* Converts <extra> on <route>; returns the Bedrock body (owned) or null with <err>. */
json_t *
Convert(bd_route_e route, bool gated, const char *extra, bd_convert_error_t *err,
        std::vector<std::string> *dropped = nullptr, const char *betas = CLAUDE_CODE_BETAS)
{
    bd_convert_model_t m = Model(route, gated);
    json_t *req = Body(extra);
    bd_convert_request_t out;
    int rc = route == BD_ROUTE_INVOKE ? bd_convert_anthropic_to_invoke(req, &m, betas, &out, err)
                                      : bd_convert_anthropic_to_converse(req, &m, betas, &out, err);
    json_decref(req);
    if (rc != 0) {
        return nullptr;
    }
    json_t *body = json_incref(out.body);
    if (dropped) {
        *dropped = out.dropped_betas;
    }
    bd_convert_request_free(&out);
    return body;
}

std::string
Dump(json_t *j)
{
    std::string s;
    bd_convert_json_dump(j, &s);
    return s;
}

TEST(ConvertFates, BetasFilteredRenamedAndReported)
{
    bd_convert_error_t err;
    std::vector<std::string> dropped;
    json_t *b = Convert(BD_ROUTE_INVOKE, true, "", &err, &dropped);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(Dump(json_object_get(b, "anthropic_beta")),
              "[\"interleaved-thinking-2025-05-14\",\"context-management-2025-06-27\","
              "\"tool-search-tool-2025-10-19\",\"effort-2025-11-24\"]");
    EXPECT_EQ(dropped, (std::vector<std::string>{"claude-code-20250219"}));
    json_decref(b);

    b = Convert(BD_ROUTE_CONVERSE, false, "", &err, &dropped);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(Dump(json_object_get(json_object_get(b, "additionalModelRequestFields"),
                                   "anthropic_beta")),
              "[\"interleaved-thinking-2025-05-14\"]");
    EXPECT_EQ(dropped.size(), 4u);
    json_decref(b);
}

TEST(ConvertFates, ContextManagementPassedWithItsBetaElseKeepAllIsLeftOut)
{
    const char *keep_all =
        ",\"context_management\":{\"edits\":[{\"type\":\"clear_thinking_20251015\","
        "\"keep\":\"all\"}]}";
    const char *clear_tools =
        ",\"context_management\":{\"edits\":[{\"type\":\"clear_tool_uses_20250919\"}]}";
    bd_convert_error_t err;

    json_t *b = Convert(BD_ROUTE_INVOKE, true, clear_tools, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_NE(json_object_get(b, "context_management"), nullptr);
    json_decref(b);

    b = Convert(BD_ROUTE_CONVERSE, true, clear_tools, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_NE(json_object_get(json_object_get(b, "additionalModelRequestFields"),
                              "context_management"),
              nullptr);
    json_decref(b);

    for (bd_route_e route : {BD_ROUTE_INVOKE, BD_ROUTE_CONVERSE}) {
        b = Convert(route, false, keep_all, &err);
        ASSERT_NE(b, nullptr) << err.message;
        EXPECT_EQ(Dump(b).find("context_management"), std::string::npos) << Dump(b);
        json_decref(b);

        EXPECT_EQ(Convert(route, false, clear_tools, &err), nullptr);
        EXPECT_EQ(err.status, 400);
        EXPECT_STREQ(err.type, "invalid_request_error");
        EXPECT_EQ(err.message.rfind("context_management: ", 0), 0u) << err.message;
    }
}

TEST(ConvertFates, DeferredToolsPassWithToolSearchOnInvokeElseAreLeftOut)
{
    const char *tools =
        ",\"tools\":[{\"name\":\"Read\",\"input_schema\":{\"type\":\"object\"}},"
        "{\"name\":\"Later\",\"input_schema\":{\"type\":\"object\"},\"defer_loading\":true},"
        "{\"name\":\"Now\",\"input_schema\":{\"type\":\"object\"},\"defer_loading\":false}]";
    bd_convert_error_t err;

    json_t *b = Convert(BD_ROUTE_INVOKE, true, tools, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(json_array_size(json_object_get(b, "tools")), 3u);
    json_decref(b);

    b = Convert(BD_ROUTE_INVOKE, false, tools, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(Dump(json_object_get(b, "tools")),
              "[{\"name\":\"Read\",\"input_schema\":{\"type\":\"object\"}},"
              "{\"name\":\"Now\",\"input_schema\":{\"type\":\"object\"}}]");
    json_decref(b);

    b = Convert(BD_ROUTE_CONVERSE, true, tools, &err); /* Converse has no deferred tools */
    ASSERT_NE(b, nullptr) << err.message;
    std::string s = Dump(json_object_get(b, "toolConfig"));
    EXPECT_EQ(s.find("Later"), std::string::npos) << s;
    EXPECT_NE(s.find("Now"), std::string::npos) << s;
    json_decref(b);

    std::string forced = std::string(tools) + ",\"tool_choice\":{\"type\":\"tool\",\"name\":\"Later\"}";
    EXPECT_EQ(Convert(BD_ROUTE_CONVERSE, true, forced.c_str(), &err), nullptr);
    EXPECT_EQ(err.message.rfind("tool_choice.name: ", 0), 0u) << err.message;
}

TEST(ConvertFates, EffortTranslatedOnConversePassedWithItsBetaOnInvokeElseRefused)
{
    const char *effort = ",\"output_config\":{\"effort\":\"medium\"}";
    bd_convert_error_t err;

    json_t *b = Convert(BD_ROUTE_CONVERSE, false, effort, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(Dump(json_object_get(b, "outputConfig")), "{\"effort\":\"medium\"}");
    json_decref(b);

    b = Convert(BD_ROUTE_INVOKE, true, effort, &err);
    ASSERT_NE(b, nullptr) << err.message;
    EXPECT_EQ(Dump(json_object_get(b, "output_config")), "{\"effort\":\"medium\"}");
    json_decref(b);

    EXPECT_EQ(Convert(BD_ROUTE_INVOKE, false, effort, &err), nullptr);
    EXPECT_EQ(err.status, 400);
    EXPECT_NE(err.message.find("output_config.effort"), std::string::npos) << err.message;
    EXPECT_NE(err.message.find("effort-2025-11-24"), std::string::npos) << err.message;
}

TEST(ConvertFates, SystemTurnsJoinTheSystemPromptInOrderOnInvoke)
{
    bd_convert_model_t m = Model(BD_ROUTE_INVOKE, false);
    json_t *req = json_loads(
        "{\"model\":\"c\",\"max_tokens\":10,\"system\":\"base\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"env\","
        "\"cache_control\":{\"type\":\"ephemeral\"}}]},"
        "{\"role\":\"system\",\"content\":\"late\"}]}",
        0, nullptr);
    bd_convert_request_t out;
    bd_convert_error_t err;
    ASSERT_EQ(bd_convert_anthropic_to_invoke(req, &m, nullptr, &out, &err), 0) << err.message;
    EXPECT_EQ(Dump(json_object_get(out.body, "system")),
              "[{\"type\":\"text\",\"text\":\"base\"},{\"type\":\"text\",\"text\":\"env\","
              "\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"text\",\"text\":\"late\"}]");
    EXPECT_EQ(Dump(json_object_get(out.body, "messages")),
              "[{\"role\":\"user\",\"content\":\"hi\"}]");
    /* the client's body is not modified */
    EXPECT_EQ(json_array_size(json_object_get(req, "messages")), 3u);
    bd_convert_request_free(&out);
    json_decref(req);
}

TEST(ConvertFates, InterleavedBudgetOnlyWhenTheBetaReachesBedrock)
{
    const char *thinking = ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}";
    bd_convert_error_t err;
    /* max_tokens 100 < budget: fine when interleaved thinking is sent */
    json_t *b = Convert(BD_ROUTE_INVOKE, false, thinking, &err);
    ASSERT_NE(b, nullptr) << err.message;
    json_decref(b);

    bd_convert_model_t m = Model(BD_ROUTE_INVOKE, false);
    m.allowed_betas.clear(); /* the model does not take it: the budget must fit max_tokens */
    json_t *req = Body(thinking);
    bd_convert_request_t out;
    EXPECT_EQ(bd_convert_anthropic_to_invoke(req, &m, CLAUDE_CODE_BETAS, &out, &err), -1);
    EXPECT_NE(err.message.find("max_tokens must be greater than thinking.budget_tokens"),
              std::string::npos)
        << err.message;
    json_decref(req);
}

} // namespace

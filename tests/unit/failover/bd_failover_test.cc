/*
 * bd_failover_test.cc: circuit breaking and failover selection without sockets. The
 * breaker is driven with explicit clocks; chains come from real conf text through the
 * snapshot loader (core, bedrock and models modules); the selection runs with a seeded
 * generator, so every expectation is exact or a wide statistical bound.
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "core/bd_core_module.h"
#include "core/bd_snapshot.h"
#include "modules/bedrock/bd_bedrock_circuit.h"
#include "modules/bedrock/bd_bedrock_conf.h"
#include "modules/bedrock/bd_bedrock_failover.h"
#include "modules/models/bd_models.h"

/* The module list the snapshot loader walks; bedrockd has its own in bd_modules.cc. */
bd_module_t *const bd_modules[] = {&bd_core_module, &bd_bedrock_module, &bd_models_module,
                                   nullptr};

void
bd_modules_init(void)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_modules[i]->index = i;
    }
}

namespace {

const int64_t S = 1000000; /* one second in us */

int unique_key = 0;

bd_circuit_t *
Fresh()
{
    return bd_circuit_get("test-" + std::to_string(++unique_key), "t");
}

TEST(Circuit, OpensAfterConsecutiveFailuresOnly)
{
    bd_circuit_t *c = Fresh();
    EXPECT_EQ(bd_circuit_admit(c, 0, 10 * S), BD_CIRCUIT_GO);
    bd_circuit_failure(c, false, 1 * S, 3, 10 * S, 0);
    bd_circuit_failure(c, false, 2 * S, 3, 10 * S, 0);
    bd_circuit_success(c, false); /* not consecutive any more */
    bd_circuit_failure(c, false, 3 * S, 3, 10 * S, 0);
    bd_circuit_failure(c, false, 4 * S, 3, 10 * S, 0);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_CLOSED);
    bd_circuit_failure(c, false, 5 * S, 3, 10 * S, 0);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_OPEN);
    EXPECT_EQ(c->opened.load(), 1u);
    EXPECT_EQ(bd_circuit_admit(c, 6 * S, 10 * S), BD_CIRCUIT_SKIP);
    EXPECT_FALSE(bd_circuit_available(c, 14 * S, 10 * S));
    EXPECT_TRUE(bd_circuit_available(c, 15 * S, 10 * S));
}

TEST(Circuit, OneProbeAfterTheCooldownThenClosesOnSuccess)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 1, 10 * S, 0);
    EXPECT_EQ(bd_circuit_admit(c, 10 * S, 10 * S), BD_CIRCUIT_PROBE);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_HALF_OPEN);
    EXPECT_EQ(bd_circuit_admit(c, 10 * S, 10 * S), BD_CIRCUIT_SKIP) << "one probe at a time";
    bd_circuit_success(c, true);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_CLOSED);
    EXPECT_EQ(c->failures.load(), 0);
    EXPECT_EQ(bd_circuit_admit(c, 11 * S, 10 * S), BD_CIRCUIT_GO);
}

TEST(Circuit, AFailedProbeStartsAFreshCooldown)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 1, 10 * S, 0);
    ASSERT_EQ(bd_circuit_admit(c, 20 * S, 10 * S), BD_CIRCUIT_PROBE);
    bd_circuit_failure(c, true, 21 * S, 1, 10 * S, 0);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_OPEN);
    EXPECT_EQ(c->opened.load(), 2u);
    EXPECT_EQ(bd_circuit_admit(c, 30 * S, 10 * S), BD_CIRCUIT_SKIP);
    EXPECT_EQ(bd_circuit_admit(c, 31 * S, 10 * S), BD_CIRCUIT_PROBE);
}

TEST(Circuit, ACooldownChangedByReloadAppliesToAnOpenCircuit)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 1, 3600 * S, 0);
    EXPECT_EQ(bd_circuit_admit(c, 1 * S, 3600 * S), BD_CIRCUIT_SKIP);
    EXPECT_EQ(bd_circuit_admit(c, 1 * S, 1), BD_CIRCUIT_PROBE);
}

TEST(Circuit, RetryAfterHoldsItOpenBelowTheThreshold)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 5, 1 * S, 30 * S);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_OPEN);
    EXPECT_EQ(bd_circuit_admit(c, 29 * S, 1 * S), BD_CIRCUIT_SKIP);
    EXPECT_EQ(bd_circuit_admit(c, 30 * S, 1 * S), BD_CIRCUIT_PROBE);
    bd_circuit_success(c, true);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_CLOSED);
}

TEST(Circuit, AReleasedProbeLetsTheNextRequestProbe)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 1, 10 * S, 0);
    ASSERT_EQ(bd_circuit_admit(c, 10 * S, 10 * S), BD_CIRCUIT_PROBE);
    bd_circuit_release(c, 11 * S);
    EXPECT_EQ(bd_circuit_admit(c, 11 * S, 10 * S), BD_CIRCUIT_PROBE);
}

TEST(Circuit, ThresholdZeroNeverOpensByCount)
{
    bd_circuit_t *c = Fresh();
    for (int i = 0; i < 100; i++) {
        bd_circuit_failure(c, false, i, 0, 10 * S, 0);
    }
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_CLOSED);
    EXPECT_EQ(c->failed.load(), 100u);
}

TEST(Circuit, InfoReportsStateAndTimeLeft)
{
    bd_circuit_t *c = Fresh();
    bd_circuit_failure(c, false, 0, 1, 5 * S, 0);
    bd_circuit_info_t i;
    bd_circuit_info(c, 1 * S, &i);
    EXPECT_EQ(i.label, "t");
    EXPECT_STREQ(bd_circuit_state_name(i.state), "open");
    EXPECT_EQ(i.open_ms, 4000);
    EXPECT_EQ(i.opened, 1u);
    EXPECT_EQ(i.failed, 1u);
}

TEST(FailoverClass, ClientErrorsNeverMoveOn)
{
    bd_bedrock_result_t r;
    r.kind = BD_BEDROCK_AWS_ERROR;
    r.timeout = false;
    struct {
        const char *name;
        long status;
        unsigned cls;
    } cases[] = {
        {"ThrottlingException", 429, BD_FAILOVER_ON_THROTTLE},
        {"ServiceQuotaExceededException", 400, BD_FAILOVER_ON_THROTTLE},
        {"ModelNotReadyException", 429, BD_FAILOVER_ON_NOT_READY},
        {"ModelTimeoutException", 408, BD_FAILOVER_ON_TIMEOUT},
        {"InternalServerException", 500, BD_FAILOVER_ON_5XX},
        {"ServiceUnavailableException", 503, BD_FAILOVER_ON_5XX},
        {"ValidationException", 400, 0},
        {"AccessDeniedException", 403, 0},
        {"ResourceNotFoundException", 404, 0},
        {"ModelErrorException", 424, 0},
    };
    for (const auto &c : cases) {
        r.error_name = c.name;
        r.http_status = c.status;
        EXPECT_EQ(bd_failover_class(&r), c.cls) << c.name;
    }
    r.kind = BD_BEDROCK_TRANSPORT;
    r.timeout = true;
    EXPECT_EQ(bd_failover_class(&r), (unsigned)BD_FAILOVER_ON_TIMEOUT);
    r.timeout = false;
    EXPECT_EQ(bd_failover_class(&r), (unsigned)BD_FAILOVER_ON_5XX);
    r.kind = BD_BEDROCK_NO_CREDENTIALS;
    EXPECT_EQ(bd_failover_class(&r), 0u);
}

class ChainTest : public ::testing::Test
{
  protected:
    std::string dir, path;
    bd_snapshot_t *snap = nullptr;

    void SetUp() override
    {
        bd_modules_init();
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_failover_test.XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
        path = dir + "/bedrockd.conf";
    }

    void TearDown() override
    {
        if (snap != nullptr) {
            bd_snapshot_unref(snap);
        }
        unlink(path.c_str());
        rmdir(dir.c_str());
    }

    /* Loads <models> under a bedrock block; returns the error, "" on success. */
    std::string Load(const std::string &models)
    {
        FILE *f = fopen(path.c_str(), "w");
        fprintf(f,
                "bedrock { region us-east-1; endpoint http://127.0.0.1:9; catalog off;\n"
                "  credentials static; access_key_id A; secret_access_key S; }\n%s",
                models.c_str());
        fclose(f);
        std::string err;
        snap = bd_snapshot_load(path.c_str(), nullptr, &err);
        return snap != nullptr ? "" : err;
    }

    const bd_failover_chain_t *Chain(const char *name)
    {
        int i = bd_models_entry_index(snap, name);
        const bd_bedrock_conf_t *bc = bd_bedrock_conf(snap);
        return i < 0 ? nullptr : bc->failover->by_entry[i].get();
    }
};

TEST_F(ChainTest, TargetsStepsWeightsAndEndpoints)
{
    ASSERT_EQ(Load("model small { id us.anthropic.claude-haiku-4-5-20251001-v1:0; }\n"
                   "model m { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; weight 3;\n"
                   "  fallback us.anthropic.claude-sonnet-4-5-20250929-v1:0 region=us-west-2 "
                   "weight=1;\n"
                   "  fallback eu.anthropic.claude-sonnet-4-5-20250929-v1:0 region=eu-west-1 "
                   "endpoint=http://127.0.0.1:8 on=throttle,timeout name=europe;\n"
                   "  fallback small on=5xx; }\n"),
              "");
    const bd_failover_chain_t *c = Chain("m");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(Chain("small"), nullptr) << "no chain, no tier: nothing to walk";
    ASSERT_EQ(c->targets.size(), 4u);
    const auto &t = c->targets;
    EXPECT_EQ(t[0].label, "us-east-1/us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    EXPECT_EQ(t[0].endpoint.url, "http://127.0.0.1:9");
    EXPECT_EQ(t[0].weight, 3);
    EXPECT_EQ(t[1].label, "us-west-2/us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    EXPECT_EQ(t[1].endpoint.url, "https://bedrock-runtime.us-west-2.amazonaws.com");
    EXPECT_EQ(t[1].endpoint.region, "us-west-2");
    EXPECT_EQ(t[1].step, 0) << "weight= shares the step before it";
    EXPECT_EQ(t[2].label, "europe");
    EXPECT_EQ(t[2].endpoint.url, "http://127.0.0.1:8");
    EXPECT_EQ(t[2].endpoint.region, "eu-west-1");
    EXPECT_EQ(t[2].step, 1);
    EXPECT_EQ(t[2].on, (unsigned)(BD_FAILOVER_ON_THROTTLE | BD_FAILOVER_ON_TIMEOUT));
    EXPECT_EQ(t[3].model_id, "us.anthropic.claude-haiku-4-5-20251001-v1:0") << "a model name";
    EXPECT_EQ(t[3].step, 2);
    for (const auto &x : t) {
        EXPECT_NE(x.circuit, nullptr);
    }
}

TEST_F(ChainTest, ConfErrorsSayWhatIsWrong)
{
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; fallback amazon.nova-lite-v1:0 "
                   "colour=red; }\n")
                  .find("unknown parameter \"colour\""),
              std::string::npos);
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; fallback amazon.nova-lite-v1:0 "
                   "on=sometimes; }\n")
                  .find("throttle, 5xx, timeout, not_ready or all"),
              std::string::npos);
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; fallback nosuchmodel; }\n")
                  .find("neither a model name nor a Bedrock model id"),
              std::string::npos);
    EXPECT_NE(Load("model m { id anthropic.claude-sonnet-4-5-20250929-v1:0; "
                   "fallback amazon.nova-pro-v1:0; }\n")
                  .find("cannot take the InvokeModel body"),
              std::string::npos);
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; fallback m; }\n").find("names itself"),
              std::string::npos);
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; fallback amazon.nova-lite-v1:0 name=x; "
                   "fallback amazon.nova-micro-v1:0 name=x; }\n")
                  .find("both named \"x\""),
              std::string::npos);
    EXPECT_NE(Load("model m { id amazon.nova-pro-v1:0; service_tier fastest; }\n")
                  .find("priority, default, flex, reserved"),
              std::string::npos);
}

TEST_F(ChainTest, ReportsListTheSnapshotsCircuitsOnceAndAReloadKeepsTheirState)
{
    const char *text = "model a { id amazon.nova-pro-v1:0; fallback amazon.nova-lite-v1:0; }\n"
                       "model b { id amazon.nova-pro-v1:0; fallback amazon.nova-micro-v1:0; }\n";
    ASSERT_EQ(Load(text), "");
    std::vector<bd_circuit_info_t> list;
    bd_failover_circuits(snap, &list);
    ASSERT_EQ(list.size(), 3u) << "nova-pro at the same endpoint is one target, one circuit";
    EXPECT_EQ(list[0].label, "us-east-1/amazon.nova-pro-v1:0");
    EXPECT_EQ(list[1].label, "us-east-1/amazon.nova-lite-v1:0");
    EXPECT_EQ(list[2].label, "us-east-1/amazon.nova-micro-v1:0");
    bd_circuit_t *c = Chain("a")->targets[0].circuit;
    EXPECT_EQ(c, Chain("b")->targets[0].circuit);
    bd_circuit_failure(c, false, 1, 1, 10 * S, 0);
    bd_snapshot_unref(snap);
    snap = nullptr;
    ASSERT_EQ(Load(text), "");
    EXPECT_EQ(Chain("a")->targets[0].circuit, c);
    EXPECT_EQ(c->state.load(), BD_CIRCUIT_OPEN);
    bd_circuit_success(c, false);
}

TEST_F(ChainTest, ATierAloneMakesAChainOfOneWithoutCircuit)
{
    ASSERT_EQ(Load("model m { id amazon.nova-pro-v1:0; service_tier flex strict; }\n"), "");
    const bd_failover_chain_t *c = Chain("m");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->service_tier, "flex");
    EXPECT_TRUE(c->tier_strict);
    ASSERT_EQ(c->targets.size(), 1u);
    EXPECT_EQ(c->targets[0].circuit, nullptr);
}

TEST_F(ChainTest, WeightsSpreadTheFirstPickInProportion)
{
    ASSERT_EQ(Load("model w { id amazon.nova-pro-v1:0; weight 3;\n"
                   "  fallback amazon.nova-pro-v1:0 region=us-west-2 weight=1; }\n"),
              "");
    const bd_failover_chain_t *c = Chain("w");
    uint64_t rng = 42;
    int counts[2] = {0, 0};
    const int n = 40000;
    for (int i = 0; i < n; i++) {
        uint32_t tried = 0;
        bool probe = false;
        int k = bd_failover_pick(c, &tried, 0, 0, 30 * S, &rng, &probe);
        ASSERT_TRUE(k == 0 || k == 1);
        EXPECT_EQ(tried, 1u << k);
        counts[k]++;
    }
    /* Binomial(40000, 1/4): mean 10000, sd 87; the bound is 10 sd */
    EXPECT_NEAR(counts[1], 10000, 870);
}

TEST_F(ChainTest, MovesOnWithinTheStepThenToTheNextAcceptingTheClass)
{
    ASSERT_EQ(Load("model m { id amazon.nova-pro-v1:0;\n"
                   "  fallback amazon.nova-pro-v1:0 region=us-west-2 weight=1;\n"
                   "  fallback amazon.nova-lite-v1:0 on=throttle;\n"
                   "  fallback amazon.nova-micro-v1:0 on=5xx; }\n"),
              "");
    const bd_failover_chain_t *c = Chain("m");
    uint64_t rng = 7;
    bool probe = false;
    uint32_t tried = 0;
    int first = bd_failover_pick(c, &tried, 0, 0, 30 * S, &rng, &probe);
    ASSERT_TRUE(first == 0 || first == 1);
    int second = bd_failover_pick(c, &tried, BD_FAILOVER_ON_5XX, 0, 30 * S, &rng, &probe);
    EXPECT_EQ(second, 1 - first) << "the equivalent in the same step first";
    EXPECT_EQ(bd_failover_pick(c, &tried, BD_FAILOVER_ON_5XX, 0, 30 * S, &rng, &probe), 3)
        << "nova-lite takes throttles only";
    EXPECT_EQ(bd_failover_pick(c, &tried, BD_FAILOVER_ON_5XX, 0, 30 * S, &rng, &probe), -1);
}

TEST_F(ChainTest, OpenCircuitsAreSkippedAndEveryOpenMeansTheFirstAnyway)
{
    ASSERT_EQ(Load("model m { id meta.llama3-1-8b-instruct-v1:0;\n"
                   "  fallback meta.llama3-1-8b-instruct-v1:0 region=us-west-2; }\n"),
              "");
    const bd_failover_chain_t *c = Chain("m");
    bd_circuit_t *a = c->targets[0].circuit, *b = c->targets[1].circuit;
    uint64_t rng = 1;
    bool probe = false;
    bd_circuit_failure(a, false, 0, 1, 10 * S, 0);
    uint32_t tried = 0;
    EXPECT_EQ(bd_failover_pick(c, &tried, 0, 1 * S, 10 * S, &rng, &probe), 1);
    EXPECT_EQ(tried, 3u) << "the open target counts as passed over";
    EXPECT_EQ(a->skipped.load(), 1u);

    bd_circuit_failure(b, false, 0, 1, 10 * S, 0);
    tried = 0;
    EXPECT_EQ(bd_failover_pick(c, &tried, 0, 1 * S, 10 * S, &rng, &probe), 0);
    EXPECT_FALSE(probe);

    tried = 0;
    EXPECT_EQ(bd_failover_pick(c, &tried, 0, 10 * S, 10 * S, &rng, &probe), 0);
    EXPECT_TRUE(probe) << "the cool-down is over: this request probes";
    bd_circuit_success(a, true);
    bd_circuit_success(b, false);
}

} // namespace

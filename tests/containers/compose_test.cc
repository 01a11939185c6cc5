// The compose deployment, for real (issue 13): the images are built with
// podman from the local Debian base (-c opt binaries), deploy/compose comes
// up with podman-compose (TLS, mTLS and tokens between the services, the
// Supervisor on PostgreSQL, secrets from make-secrets.sh), every container
// with a HEALTHCHECK must become healthy through it, the example plan runs
// through the containerized Supervisor with the fake provider, and
// each service's /metrics is scraped and parsed (its counters must add up to
// the run's usage), every log is searched for the provider key, the tokens
// and the store's password (none may appear) and for the run and phase ids
// (every service must have lines carrying them), and everything is torn
// down again: no container, network or volume left.
// Where podman cannot run, the test fails saying so; it never skips.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "autopack/v1/supervisor.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "nlohmann/json.hpp"
#include "tests/containers/podman.h"
#include "tests/e2e/suite.h"
#include "tests/testing/http_get.h"
#include "tests/testing/prometheus_text.h"

namespace autopack::testing {
namespace {

using Scrape = ::autopack::testing::Scrape;

// The containers the deployment runs a HEALTHCHECK in.
const char* const kChecked[] = {"postgres", "builder", "auditor", "gitadapter", "supervisor"};

class ComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/compose");
    project_ = absl::StrCat("autopack-compose-test-", getpid());
    port_ = FreePort();
    // Keys and tokens the logs must never show; a fresh provider key per run.
    provider_key_ = absl::StrCat("sk-compose-test-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
    ASSERT_TRUE(Shell(absl::StrCat(
                          "set -e; rm -rf ", dir_, "; mkdir -p ", dir_, "/repos/hello_autopack;",
                          " cp -rL deploy/compose ", dir_, "/compose; cp -rL config ", dir_, "/config;",
                          " cp -rL examples/hello_autopack/recorded_answers ", dir_, "/answers;",
                          " cd examples/hello_autopack; cp -rL hello tests README.md .gitignore ", dir_,
                          "/repos/hello_autopack/; cd ", dir_, "/repos/hello_autopack;",
                          " git init -q -b main .; git add -A;",
                          " git -c user.name=t -c user.email=t@t commit -q -m hello_autopack"))
                    .ok());
    auto built = Shell(PodmanSh("images deploy/opt"));
    ASSERT_TRUE(built.ok()) << "podman could not build the images here: " << built.status();
    auto secrets = Shell(absl::StrCat("OPENAI_API_KEY=", provider_key_, " ANTHROPIC_API_KEY=", provider_key_,
                                      " ", dir_, "/compose/make-secrets.sh ", dir_, "/secrets cli/autopackctl"));
    ASSERT_TRUE(secrets.ok()) << secrets.status();
    auto up = Compose("up -d");
    ASSERT_TRUE(up.ok()) << "podman-compose up failed: " << up.status();
  }

  void TearDown() override {
    if (::testing::Test::HasFailure()) std::cerr << AllLogs();
    (void)Compose("down -t 3");
    // podman-compose down leaves the network and the named volumes.
    (void)Shell(PodmanSh(absl::StrCat("podman network rm -f ", project_, "_default")));
    (void)Shell(PodmanSh(absl::StrCat("podman volume rm -f ", project_, "_postgres-data ", project_,
                                      "_workspaces")));
    auto containers = Shell(PodmanSh(absl::StrCat("podman ps -a --filter label=io.podman.compose.project=",
                                                  project_, " --format '{{.Names}}'")));
    EXPECT_TRUE(containers.ok() && containers->empty()) << "containers left: " << *containers;
    auto networks = Shell(PodmanSh("podman network ls --format '{{.Name}}'"));
    EXPECT_TRUE(networks.ok() && !absl::StrContains(*networks, project_)) << "networks left: " << *networks;
    auto volumes = Shell(PodmanSh("podman volume ls --format '{{.Name}}'"));
    EXPECT_TRUE(volumes.ok() && !absl::StrContains(*volumes, project_)) << "volumes left: " << *volumes;
  }

  absl::StatusOr<std::string> Compose(const std::string& args) {
    return Shell(absl::StrCat("AUTOPACK_SECRETS=", dir_, "/secrets AUTOPACK_REPOS=", dir_,
                              "/repos AUTOPACK_CONFIG=", dir_, "/config AUTOPACK_ANSWERS=", dir_,
                              "/answers AUTOPACK_SUPERVISOR_PORT=", port_, " ",
                              PodmanSh(absl::StrCat("compose -p ", project_, " -f ", dir_,
                                                    "/compose/compose.yaml -f ", dir_,
                                                    "/compose/fake-provider.yaml ", args))));
  }

  std::string Container(const std::string& service) const {
    return absl::StrCat(project_, "_", service, "_1");
  }

  std::string Logs(const std::string& service) {
    auto logs = Shell(PodmanSh(absl::StrCat("podman logs ", Container(service))));
    return logs.ok() ? *logs : logs.status().ToString();
  }

  std::string AllLogs() {
    std::string all;
    for (const char* service : {"postgres", "fake_provider", "builder", "auditor", "gitadapter", "supervisor"}) {
      absl::StrAppend(&all, "==== ", service, "\n", Logs(service), "\n");
    }
    return all;
  }

  // Runs the container's HEALTHCHECK (podman has no timer without systemd)
  // until it passes or `timeout` ends; then reads the status podman keeps.
  std::string WaitHealthy(const std::string& service, absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end &&
           !Shell(PodmanSh(absl::StrCat("podman healthcheck run ", Container(service)))).ok()) {
      absl::SleepFor(absl::Milliseconds(500));
    }
    auto status = Shell(PodmanSh(absl::StrCat("podman inspect ", Container(service),
                                              " --format '{{.State.Healthcheck.Status}}'")));
    return status.ok() ? std::string(absl::StripAsciiWhitespace(*status)) : status.status().ToString();
  }

  // GET /metrics of a service's --metrics_listen (port 9090 in the
  // deployment's network, which this host reaches by container address).
  absl::StatusOr<Scrape> ScrapeMetrics(const std::string& service) {
    auto ip = Shell(PodmanSh(absl::StrCat("podman inspect ", Container(service),
                                          " --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'")));
    if (!ip.ok()) return ip.status();
    auto response = HttpGet(std::string(absl::StripAsciiWhitespace(*ip)), 9090, "/metrics");
    if (!response.ok()) return response.status();
    if (response->status != 200) return absl::InternalError(absl::StrCat(service, " /metrics: ", response->headers));
    return ParsePrometheusText(response->body);
  }

  std::string Secret(const std::string& name) {
    auto value = Shell(absl::StrCat("cat ", dir_, "/secrets/", name));
    return value.ok() ? std::string(absl::StripAsciiWhitespace(*value)) : "";
  }

  std::string dir_, project_, provider_key_;
  int port_ = 0;
};

TEST_F(ComposeTest, ExamplePlanRunsOnTheContainerizedSuite) {
  for (const char* service : kChecked) {
    auto configured = Shell(PodmanSh(absl::StrCat("podman inspect ", Container(service),
                                                  " --format '{{.Config.Healthcheck.Test}}'")));
    ASSERT_TRUE(configured.ok()) << configured.status();
    EXPECT_TRUE(absl::StrContains(*configured, service == std::string("postgres") ? "pg_isready" : "health_probe"))
        << service << " has no HEALTHCHECK of its own: " << *configured;
    EXPECT_EQ(WaitHealthy(service, absl::Seconds(90)), "healthy") << service << "\n" << Logs(service);
  }

  // The operator's view: TLS to the published Supervisor, a bearer token.
  ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port_);
  options.tls_ca_file = dir_ + "/secrets/ca.pem";
  options.bearer_token = Secret("operator.token");
  const std::string ctl = absl::StrCat("cli/autopackctl --supervisor=", options.target, " --tls_ca=",
                                       options.tls_ca_file, " --token_file=", dir_, "/secrets/operator.token");
  const std::string run_id = "compose-run";
  auto submitted = Shell(absl::StrCat(ctl, " submit examples/hello_autopack/plan.yaml",
                                      " --repo=/repos/hello_autopack --run_id=", run_id));
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  auto channel = CreateClientChannel(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::SupervisorService::NewStub(*channel);
  auto run = WaitForRunEnd(stub.get(), run_id, absl::Minutes(3));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state(), v1::RUN_STATE_DONE_SUCCESS) << run->DebugString();

  // The commits are on the run's branch in GitAdapter's workspace volume,
  // and the project's tests pass on the result.
  auto commits = Shell(PodmanSh(absl::StrCat("podman exec ", Container("gitadapter"), " git -C /var/lib/autopack/workspaces/",
                                             run_id, "/repo log --format=%s main..HEAD")));
  ASSERT_TRUE(commits.ok()) << commits.status();
  EXPECT_TRUE(absl::StrContains(*commits, "autopack: farewell")) << *commits;
  EXPECT_TRUE(absl::StrContains(*commits, "autopack: cli_main")) << *commits;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(absl::StripSuffix(*commits, "\n"), '\n')).size(), 2u)
      << *commits;

  // The Supervisor kept the run in PostgreSQL, not in a file of its own.
  auto stored = Shell(PodmanSh(absl::StrCat(
      "podman exec -e PGPASSWORD=", Secret("postgres_password"), " ", Container("postgres"),
      " psql -h 127.0.0.1 -U autopack -d autopack -tAc \"select count(*) from runs where run_id='", run_id, "'\"")));
  EXPECT_TRUE(stored.ok() && absl::StripAsciiWhitespace(*stored) == "1") << stored.status() << *stored;

  // Metrics: what the LLM services billed adds up to the run's usage, and
  // the Supervisor's and GitAdapter's counters to what the run did.
  const v1::UsageLine& usage = run->usage();
  const double run_tokens = usage.usage().input_tokens() + usage.usage().cached_input_tokens() +
                            usage.usage().output_tokens() + usage.usage().reasoning_tokens();
  double llm_calls = 0, llm_tokens = 0, llm_cost = 0;
  for (const char* service : {"builder", "auditor", "gitadapter", "supervisor"}) {
    auto scrape = ScrapeMetrics(service);
    ASSERT_TRUE(scrape.ok()) << scrape.status();
    EXPECT_GT(scrape->Sum("autopack_rpc_server_calls_total", {{"method", "grpc.health.v1.Health/Check"}}), 0)
        << service << " counted no health checks";
    EXPECT_EQ(scrape->types.at("autopack_rpc_server_latency_seconds"), "histogram");
    llm_calls += scrape->Sum("autopack_llm_calls_total");
    llm_tokens += scrape->Sum("autopack_llm_tokens_total");
    llm_cost += scrape->Sum("autopack_llm_cost_micro_usd_total");
    if (service == std::string("builder")) {
      EXPECT_EQ(scrape->Sum("autopack_rpc_server_calls_total",
                            {{"method", "autopack.v1.BuilderService/GeneratePatch"}, {"code", "OK"}}),
                scrape->Sum("autopack_llm_calls_total", {{"code", "OK"}}));
    }
    if (service == std::string("gitadapter")) {
      EXPECT_EQ(scrape->Sum("autopack_rpc_server_calls_total",
                            {{"method", "autopack.v1.GitAdapterService/ApplyPatch"}, {"code", "OK"}}), 2);
      EXPECT_GE(scrape->Sum("autopack_check_duration_seconds_count", {{"passed", "true"}}), 2);
    }
    if (service == std::string("supervisor")) {
      EXPECT_EQ(scrape->Sum("autopack_phase_transitions_total", {{"state", "PHASE_STATE_COMPLETE"}}), 2);
      EXPECT_EQ(scrape->Sum("autopack_budget_used_micro_usd_total"), usage.cost_micro_usd());
      EXPECT_EQ(scrape->Sum("autopack_budget_used_tokens_total"), run_tokens);
      EXPECT_GE(scrape->Sum("autopack_store_commit_seconds_count", {{"ok", "true"}}), 1);
    }
  }
  std::cout << "run " << run_id << ": " << usage.calls() << " LLM calls, " << run_tokens << " tokens, "
            << usage.cost_micro_usd() << " micro-USD; the services' metrics: " << llm_calls << " calls, "
            << llm_tokens << " tokens, " << llm_cost << " micro-USD\n";
  EXPECT_GT(usage.calls(), 0);
  EXPECT_EQ(llm_calls, usage.calls());
  EXPECT_EQ(llm_tokens, run_tokens);
  EXPECT_EQ(llm_cost, usage.cost_micro_usd());

  // Logs: no secret in any line of any container; in every service's lines,
  // the run and its phases can be found by id.
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"provider key", provider_key_},
      {"operator token", Secret("operator.token")},
      {"supervisor token", Secret("supervisor.token")},
      {"store password", Secret("postgres_password")}};
  for (const char* service : {"postgres", "fake_provider", "builder", "auditor", "gitadapter", "supervisor"}) {
    const std::string logs = Logs(service);
    for (const auto& [what, value] : secrets) {
      ASSERT_FALSE(value.empty()) << what;
      EXPECT_FALSE(absl::StrContains(logs, value)) << "the " << what << " is in the log of " << service;
    }
  }
  for (const char* service : {"builder", "auditor", "gitadapter", "supervisor"}) {
    bool run_seen = false;
    std::set<std::string> phases_seen;
    for (absl::string_view text : absl::StrSplit(Logs(service), '\n', absl::SkipEmpty())) {
      const nlohmann::json line = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(line.is_object()) << service << " wrote a line that is not one JSON object: " << text;
      for (const char* field : {"time", "level", "service", "msg"}) EXPECT_TRUE(line.contains(field)) << text;
      if (line.value("run_id", "") != run_id) continue;
      run_seen = true;
      if (line.contains("phase_id")) phases_seen.insert(line["phase_id"].get<std::string>());
    }
    EXPECT_TRUE(run_seen) << service << " has no line with run_id " << run_id;
    std::cout << service << ": lines with run_id " << run_id << " and phase ids " << absl::StrJoin(phases_seen, ", ") << "\n";
    EXPECT_EQ(phases_seen, (std::set<std::string>{"farewell", "cli_main"})) << service;
  }
}

}  // namespace
}  // namespace autopack::testing

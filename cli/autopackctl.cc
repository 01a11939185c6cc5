// autopackctl: the command line for the Supervisor (DESIGN.md §5).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "autopack/v1/supervisor.grpc.pb.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cli/live_view.h"
#include "cli/plan.h"
#include "cli/run_text.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/auth.h"
#include "services/common/client.h"
#include "services/common/grpc_status.h"
#include "services/common/pricing.h"
#include "services/common/sha256.h"
#include "services/supervisor/run_state.h"

ABSL_FLAG(std::string, supervisor, "127.0.0.1:50051", "Supervisor address (HOST:PORT)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA bundle; turns TLS on");
ABSL_FLAG(std::string, tls_cert, "", "client certificate for mTLS");
ABSL_FLAG(std::string, tls_key, "", "client key for mTLS");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token to call with; default: the AUTOPACK_TOKEN "
          "environment variable. Without TLS the token is sent to a loopback Supervisor only");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30), "deadline of each unary call");
ABSL_FLAG(bool, json, false, "print results as JSON (one object per line for watch)");
ABSL_FLAG(std::string, repo, "", "submit/preview: repository (path or URL) the plan runs on");
ABSL_FLAG(std::string, run_id, "", "submit: run id (idempotency key); default from the plan");
ABSL_FLAG(bool, watch, false, "submit: then watch the run until it ends");
ABSL_FLAG(std::string, state, "", "list: only runs in this state, e.g. RUN_STATE_RUNNING");
ABSL_FLAG(std::string, project, "", "list/issues: project id");
ABSL_FLAG(std::string, reason, "cancelled with autopackctl", "cancel: reason recorded");
ABSL_FLAG(std::string, max_cost, "", "budget: new cost cap in USD (e.g. 2.50)");
ABSL_FLAG(int64_t, max_tokens, 0, "budget: new token cap");
ABSL_FLAG(std::string, tier, "", "budget: raise this tier's caps instead of the run's");
ABSL_FLAG(std::string, phase, "", "budget: raise this phase's caps instead of the run's");
ABSL_FLAG(std::string, name, "", "token new/hash: caller name for the callers-file entry");
ABSL_FLAG(std::string, rights, "",
          "token new/hash: comma-separated rights (submit, read, cancel, admin, service)");

namespace autopack::cli {
namespace {

constexpr char kUsage[] =
    "drives Autopack's Supervisor.\n"
    "Usage: autopackctl [flags] COMMAND [ARGS]\n\n"
    "Commands:\n"
    "  submit PLAN.yaml --repo=PATH [--run_id=ID] [--watch]   create a run from a plan\n"
    "  preview PLAN.yaml --repo=PATH    models and worst-case cost per phase, no LLM calls\n"
    "  watch RUN_ID                     follow a run's progress until it ends\n"
    "  get RUN_ID                       a run with its tiers and phases\n"
    "  list [--state=S] [--project=P]   runs, newest first\n"
    "  cancel RUN_ID [--reason=TEXT]    stop a run at its next safe point\n"
    "  budget RUN_ID [--max-cost=USD] [--max-tokens=N] [--tier=ID | --phase=ID]\n"
    "                                   raise the caps of a run paused at one; it resumes\n"
    "  usage RUN_ID                     tokens and cost by tier, phase and model\n"
    "  issues RUN_ID | --project=P      distinct issues of a run, or a project's backlog\n"
    "  token new --name=N --rights=R,R  print a new random token, then its --auth_file entry\n"
    "  token hash [--name=N --rights=R] read a token on stdin, print its SHA-256 (or entry)\n"
    "Authentication: --token_file=F or AUTOPACK_TOKEN; keep tokens out of argv.\n"
    "Exit codes: 0 ok (watch: run succeeded), 1 error, 2 usage, 3 run ended unsuccessfully.";

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json << std::endl;
}

void PrintRun(const v1::Run& run) {
  std::cout << "run " << run.run_id() << "  " << Short(v1::RunState_Name(run.state()), "RUN_STATE_")
            << (run.state_reason().empty() ? "" : "  (" + run.state_reason() + ")") << "\n";
  std::cout << "  branch " << run.branch() << "  head " << run.head_sha().substr(0, 12) << "\n";
  std::cout << "  usage " << Tokens(run.usage().usage()) << ", cost " << Usd(run.usage().cost_micro_usd())
            << "\n";
  for (const v1::TierStatus& tier : run.tiers()) {
    std::cout << "  tier " << tier.tier_id() << "  " << Short(v1::TierState_Name(tier.state()), "TIER_STATE_")
              << "\n";
    for (const v1::PhaseStatus& phase : tier.phases()) {
      std::cout << absl::StrFormat("    %-16s %-16s attempts %d  %s  %s\n", phase.phase_id(),
                                   Short(v1::PhaseState_Name(phase.state()), "PHASE_STATE_"),
                                   phase.attempts(), phase.commit_sha().substr(0, 12),
                                   phase.builder_model());
      if (!phase.last_error().empty()) std::cout << "      last error: " << phase.last_error() << "\n";
    }
  }
}

void PrintEvent(const v1::RunEvent& event) {
  if (absl::GetFlag(FLAGS_json)) return PrintJson(event);
  const std::string prefix = absl::StrFormat("[%4d] ", event.sequence());
  switch (event.payload_case()) {
    case v1::RunEvent::kSnapshot:
      std::cout << prefix << "snapshot:\n";
      PrintRun(event.snapshot());
      break;
    case v1::RunEvent::kRunState:
      std::cout << prefix << "run " << Short(v1::RunState_Name(event.run_state().to()), "RUN_STATE_")
                << (event.run_state().reason().empty() ? "" : ": " + event.run_state().reason()) << "\n";
      break;
    case v1::RunEvent::kTierState:
      std::cout << prefix << "tier " << event.tier_state().tier_id() << " "
                << Short(v1::TierState_Name(event.tier_state().to()), "TIER_STATE_") << "\n";
      break;
    case v1::RunEvent::kPhaseState: {
      const auto& p = event.phase_state();
      std::cout << prefix << "phase " << p.phase_id() << " attempt " << p.attempt() << " "
                << Short(v1::PhaseState_Name(p.to()), "PHASE_STATE_")
                << (p.reason().empty() ? "" : ": " + p.reason()) << "\n";
      break;
    }
    case v1::RunEvent::kAttempt: {
      const auto& a = event.attempt();
      std::cout << prefix << "phase " << a.phase_id() << " attempt " << a.attempt() << " builder "
                << a.builder_model() << ", auditor " << a.auditor_model()
                << (a.rationale().empty() ? "" : " (" + a.rationale() + ")") << "\n";
      break;
    }
    case v1::RunEvent::kUsage: {
      const auto& u = event.usage();
      std::cout << prefix << "usage " << u.role() << " " << u.model() << ": " << Tokens(u.usage())
                << ", " << Usd(u.cost_micro_usd()) << "  (run total "
                << Usd(u.run_total().cost_micro_usd()) << ")\n";
      break;
    }
    case v1::RunEvent::kBudgetWarning: {
      const auto& w = event.budget_warning();
      std::cout << prefix << "budget warning: " << w.scope() << " " << w.dimension() << " at "
                << w.percent() << "% (" << w.used() << " of " << w.cap() << ")\n";
      break;
    }
    case v1::RunEvent::kIssue: {
      const auto& i = event.issue();
      std::cout << prefix << "issue " << Short(v1::Severity_Name(i.issue().severity()), "SEVERITY_")
                << " " << i.issue().category() << " " << i.issue().path() << ": "
                << i.issue().message() << " (seen " << i.occurrences() << "x)\n";
      break;
    }
    default:
      break;
  }
  std::cout.flush();
}

bool Succeeded(v1::RunState state) { return state == v1::RUN_STATE_DONE_SUCCESS; }

class Ctl {
 public:
  Ctl(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
      : stub_(v1::SupervisorService::NewStub(channel)), options_(std::move(options)) {}

  template <typename Request, typename Response>
  absl::Status Unary(grpc::Status (v1::SupervisorService::Stub::*method)(
                         grpc::ClientContext*, const Request&, Response*),
                     const Request& request, Response* response) {
    grpc::ClientContext context;
    ApplyDeadline(options_, &context);
    return FromGrpcStatus(((*stub_).*method)(&context, request, response));
  }

  // Follows the run; returns its final state. On a terminal (without
  // --json) the run is a live view redrawn in place, its elapsed time ticking
  // each second; otherwise each event is a line.
  absl::StatusOr<v1::RunState> Watch(const std::string& run_id) {
    if (!absl::GetFlag(FLAGS_json) && isatty(STDOUT_FILENO)) {
      LiveFrame frame;
      absl::Notification done;
      std::thread ticker([&] {
        while (!done.WaitForNotificationWithTimeout(absl::Seconds(1))) frame.Draw();
      });
      absl::StatusOr<v1::RunState> state = Follow(run_id, [&](const v1::RunEvent& e) { frame.Apply(e); });
      done.Notify();
      ticker.join();
      return state;
    }
    return Follow(run_id, [](const v1::RunEvent& e) { PrintEvent(e); });
  }

 private:
  // The live view and the frame last written, redrawn by events and ticks.
  class LiveFrame {
   public:
    void Apply(const v1::RunEvent& event) {
      absl::MutexLock lock(&mu_);
      view_.Apply(event);
      DrawLocked();
    }
    void Draw() {
      absl::MutexLock lock(&mu_);
      if (!shown_.empty()) DrawLocked();
    }

   private:
    void DrawLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const std::string next = view_.Render(absl::Now());
      std::cout << LiveView::Erase(shown_) << next << std::flush;
      shown_ = next;
    }
    absl::Mutex mu_;
    LiveView view_ ABSL_GUARDED_BY(mu_);
    std::string shown_ ABSL_GUARDED_BY(mu_);
  };

  // Reads the run's events until it ends, handing each to `on_event`; a
  // broken stream is resumed after the last sequence seen.
  template <typename OnEvent>
  absl::StatusOr<v1::RunState> Follow(const std::string& run_id, OnEvent on_event) {
    v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
    int64_t after = 0;
    for (int reconnects = 0; reconnects < 20; ++reconnects) {
      grpc::ClientContext context;
      v1::WatchRunRequest request;
      request.set_run_id(run_id);
      request.set_after_sequence(after);
      auto reader = stub_->WatchRun(&context, request);
      v1::RunEvent event;
      while (reader->Read(&event)) {
        if (event.sequence() > 0) after = event.sequence();
        if (event.has_snapshot()) state = event.snapshot().state();
        if (event.has_run_state()) state = event.run_state().to();
        if (event.has_snapshot() && after > 0 && !absl::GetFlag(FLAGS_json)) continue;
        on_event(event);
      }
      const grpc::Status status = reader->Finish();
      if (supervisor::IsFinalRunState(state)) return state;
      if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
        return FromGrpcStatus(status);
      }
      absl::SleepFor(absl::Seconds(1));
    }
    return absl::UnavailableError("lost the Supervisor while watching " + run_id);
  }

  std::unique_ptr<v1::SupervisorService::Stub> stub_;
  ClientOptions options_;
};

absl::StatusOr<v1::RunSpec> PlanWithRepo(const std::string& path) {
  absl::StatusOr<v1::RunSpec> spec = LoadPlanFile(path);
  if (!spec.ok()) return spec.status();
  if (!absl::GetFlag(FLAGS_repo).empty()) spec->set_repo_url(absl::GetFlag(FLAGS_repo));
  if (!absl::GetFlag(FLAGS_run_id).empty()) spec->set_run_id(absl::GetFlag(FLAGS_run_id));
  return spec;
}

int Fail(const absl::Status& status) {
  std::cerr << "autopackctl: " << status << std::endl;
  return 1;
}

// The callers-file entry of a token; needs no server, so it runs offline.
int Token(const std::vector<std::string>& args) {
  std::string token;
  if (args.size() == 2 && args[1] == "new") {
    absl::StatusOr<std::string> fresh = NewToken();
    if (!fresh.ok()) return Fail(fresh.status());
    token = *fresh;
  } else if (args.size() == 2 && args[1] == "hash") {
    std::getline(std::cin, token, '\0');
    token = std::string(absl::StripAsciiWhitespace(token));
    if (token.empty()) return Fail(absl::InvalidArgumentError("no token on stdin"));
  } else {
    std::cerr << "autopackctl token: use 'token new' or 'token hash'\n";
    return 2;
  }
  const std::string name = absl::GetFlag(FLAGS_name);
  std::vector<std::string> rights;
  for (absl::string_view right :
       absl::StrSplit(absl::GetFlag(FLAGS_rights), ',', absl::SkipWhitespace())) {
    absl::StatusOr<Right> parsed = ParseRight(absl::StripAsciiWhitespace(right));
    if (!parsed.ok()) return Fail(parsed.status());
    rights.emplace_back(RightName(*parsed));
  }
  if (args[1] == "new" && (name.empty() || rights.empty())) {
    std::cerr << "autopackctl token new: --name and --rights are required\n";
    return 2;
  }
  if (args[1] == "new") {
    std::cout << "# The token; hand it to the caller (it is stored nowhere else):\n"
              << token << "\n# Its entry under 'callers:' in the --auth_file:\n";
  }
  if (name.empty()) {
    std::cout << Sha256Hex(token) << "\n";
    return 0;
  }
  std::cout << "  - name: " << name << "\n    token_sha256: " << Sha256Hex(token)
            << "\n    rights: [" << absl::StrJoin(rights, ", ") << "]\n";
  return 0;
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << absl::ProgramUsageMessage() << std::endl;
    return 2;
  }
  if (args[0] == "token") return Token(args);
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_supervisor);
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.deadline = absl::GetFlag(FLAGS_deadline);
  if (const std::string file = absl::GetFlag(FLAGS_token_file); !file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(file);
    if (!token.ok()) return Fail(token.status());
    options.bearer_token = *std::move(token);
  } else if (const char* env = std::getenv("AUTOPACK_TOKEN"); env != nullptr) {
    options.bearer_token = std::string(absl::StripAsciiWhitespace(env));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateClientChannel(options);
  if (!channel.ok()) return Fail(channel.status());
  Ctl ctl(*channel, options);
  const std::string& command = args[0];
  const bool json = absl::GetFlag(FLAGS_json);
  const auto need_arg = [&]() -> bool {
    if (args.size() >= 2) return true;
    std::cerr << "autopackctl " << command << ": missing argument\n";
    return false;
  };

  if (command == "submit") {
    if (!need_arg()) return 2;
    absl::StatusOr<v1::RunSpec> spec = PlanWithRepo(args[1]);
    if (!spec.ok()) return Fail(spec.status());
    v1::CreateRunRequest request;
    *request.mutable_spec() = *spec;
    v1::CreateRunResponse response;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::CreateRun, request, &response);
        !s.ok()) {
      return Fail(s);
    }
    if (json) {
      PrintJson(response);
    } else {
      std::cout << (response.already_existed() ? "existing run " : "created run ")
                << response.run().run_id() << std::endl;
    }
    if (!absl::GetFlag(FLAGS_watch)) return 0;
    absl::StatusOr<v1::RunState> final_state = ctl.Watch(response.run().run_id());
    if (!final_state.ok()) return Fail(final_state.status());
    return Succeeded(*final_state) ? 0 : 3;
  }
  if (command == "preview") {
    if (!need_arg()) return 2;
    absl::StatusOr<v1::RunSpec> spec = PlanWithRepo(args[1]);
    if (!spec.ok()) return Fail(spec.status());
    v1::PreviewRunRequest request;
    *request.mutable_spec() = *spec;
    v1::PreviewRunResponse response;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::PreviewRun, request, &response);
        !s.ok()) {
      return Fail(s);
    }
    if (json) {
      PrintJson(response);
      return 0;
    }
    for (const v1::PhasePreview& p : response.phases()) {
      std::cout << absl::StrFormat("%-8s %-16s %-28s %-28s attempts %d  worst case %d tokens, %s%s\n",
                                   p.tier_id(), p.phase_id(), p.builder_model(), p.auditor_model(),
                                   p.max_attempts(), p.worst_case_tokens(),
                                   Usd(p.worst_case_micro_usd()),
                                   p.fits_budget() ? "" : "  EXCEEDS BUDGET");
    }
    std::cout << "total worst case: " << response.total_worst_case_tokens() << " tokens, "
              << Usd(response.total_worst_case_micro_usd()) << "\n";
    for (const std::string& w : response.warnings()) std::cout << "warning: " << w << "\n";
    return 0;
  }
  if (command == "watch") {
    if (!need_arg()) return 2;
    absl::StatusOr<v1::RunState> final_state = ctl.Watch(args[1]);
    if (!final_state.ok()) return Fail(final_state.status());
    return Succeeded(*final_state) ? 0 : 3;
  }
  if (command == "get") {
    if (!need_arg()) return 2;
    v1::GetRunRequest request;
    request.set_run_id(args[1]);
    v1::Run run;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::GetRun, request, &run); !s.ok()) {
      return Fail(s);
    }
    json ? PrintJson(run) : PrintRun(run);
    return 0;
  }
  if (command == "list") {
    v1::ListRunsRequest request;
    request.set_project_id(absl::GetFlag(FLAGS_project));
    if (!absl::GetFlag(FLAGS_state).empty()) {
      v1::RunState state;
      if (!v1::RunState_Parse(absl::GetFlag(FLAGS_state), &state)) {
        std::cerr << "autopackctl list: unknown --state " << absl::GetFlag(FLAGS_state) << "\n";
        return 2;
      }
      request.add_states(state);
    }
    do {
      v1::ListRunsResponse response;
      if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::ListRuns, request, &response);
          !s.ok()) {
        return Fail(s);
      }
      for (const v1::Run& run : response.runs()) {
        if (json) {
          PrintJson(run);
        } else {
          std::cout << absl::StrFormat("%-28s %-36s %s\n", run.run_id(),
                                       Short(v1::RunState_Name(run.state()), "RUN_STATE_"),
                                       Usd(run.usage().cost_micro_usd()));
        }
      }
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return 0;
  }
  if (command == "cancel") {
    if (!need_arg()) return 2;
    v1::CancelRunRequest request;
    request.set_run_id(args[1]);
    request.set_reason(absl::GetFlag(FLAGS_reason));
    v1::Run run;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::CancelRun, request, &run);
        !s.ok()) {
      return Fail(s);
    }
    json ? PrintJson(run) : PrintRun(run);
    return 0;
  }
  if (command == "budget") {
    if (!need_arg()) return 2;
    v1::Budget cap;
    cap.set_max_tokens(absl::GetFlag(FLAGS_max_tokens));
    if (const std::string usd = absl::GetFlag(FLAGS_max_cost); !usd.empty()) {
      absl::StatusOr<int64_t> micro = PriceTable::ParseUsdToMicro(usd);
      if (!micro.ok()) {
        std::cerr << "autopackctl budget: --max-cost: " << micro.status().message() << "\n";
        return 2;
      }
      cap.set_max_cost_micro_usd(*micro);
    }
    const std::string tier = absl::GetFlag(FLAGS_tier), phase = absl::GetFlag(FLAGS_phase);
    if ((cap.max_tokens() == 0 && cap.max_cost_micro_usd() == 0) ||
        (!tier.empty() && !phase.empty())) {
      std::cerr << "autopackctl budget: give --max-cost and/or --max-tokens, and at most one of "
                   "--tier and --phase\n";
      return 2;
    }
    v1::RaiseBudgetRequest request;
    request.set_run_id(args[1]);
    if (!tier.empty()) {
      (*request.mutable_tiers())[tier] = cap;
    } else if (!phase.empty()) {
      (*request.mutable_phases())[phase] = cap;
    } else {
      *request.mutable_run() = cap;
    }
    v1::Run run;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::RaiseBudget, request, &run);
        !s.ok()) {
      return Fail(s);
    }
    json ? PrintJson(run) : PrintRun(run);
    return 0;
  }
  if (command == "usage") {
    if (!need_arg()) return 2;
    v1::GetUsageRequest request;
    request.set_run_id(args[1]);
    v1::UsageReport report;
    if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::GetUsage, request, &report);
        !s.ok()) {
      return Fail(s);
    }
    if (json) {
      PrintJson(report);
      return 0;
    }
    const auto line = [](absl::string_view kind, const v1::UsageLine& l) {
      std::cout << absl::StrFormat("%-6s %-36s %4d calls  %s  %s\n", kind, l.key(), l.calls(),
                                   Tokens(l.usage()), Usd(l.cost_micro_usd()));
    };
    line("run", report.total());
    for (const auto& l : report.by_tier()) line("tier", l);
    for (const auto& l : report.by_phase()) line("phase", l);
    for (const auto& l : report.by_model()) line("model", l);
    return 0;
  }
  if (command == "issues") {
    v1::ListIssuesRequest request;
    if (!absl::GetFlag(FLAGS_project).empty()) {
      request.set_project_id(absl::GetFlag(FLAGS_project));
    } else if (args.size() >= 2) {
      request.set_run_id(args[1]);
    } else {
      std::cerr << "autopackctl issues: give RUN_ID or --project\n";
      return 2;
    }
    do {
      v1::ListIssuesResponse response;
      if (absl::Status s = ctl.Unary(&v1::SupervisorService::Stub::ListIssues, request, &response);
          !s.ok()) {
        return Fail(s);
      }
      for (const v1::TrackedIssue& t : response.issues()) {
        if (json) {
          PrintJson(t);
          continue;
        }
        std::cout << absl::StrFormat("%-5s %-18s %-30s x%-3d runs %d%s  %s\n",
                                     Short(v1::Severity_Name(t.issue().severity()), "SEVERITY_"),
                                     t.issue().category(), t.issue().path(), t.occurrences(),
                                     t.runs_seen(), t.needs_cleanup() ? " needs_cleanup" : "",
                                     t.issue().message());
      }
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return 0;
  }
  std::cerr << "autopackctl: unknown command '" << command << "'\n" << absl::ProgramUsageMessage()
            << std::endl;
  return 2;
}

}  // namespace
}  // namespace autopack::cli

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(autopack::cli::kUsage);
  // The budget flags are documented as --max-cost and --max-tokens; Abseil
  // spells flag names with underscores only.
  std::vector<std::string> spelled;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    for (const char* flag : {"--max-cost", "--max-tokens"}) {
      if (absl::StartsWith(arg, flag)) arg[5] = '_';
    }
    spelled.push_back(std::move(arg));
  }
  std::vector<char*> spelled_argv;
  for (std::string& arg : spelled) spelled_argv.push_back(arg.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(spelled_argv.size()), spelled_argv.data());
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  return autopack::cli::Main(args);
}

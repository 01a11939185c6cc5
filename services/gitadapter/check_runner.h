// Runs a project's check command in a workspace: with a time limit, an output
// cap, no network and a read-only view of everything but the workspace
// (bubblewrap), and kills everything it started when it ends or times out.
#ifndef AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_
#define AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autopack/v1/common.pb.h"

namespace autopack::gitadapter {

struct CheckSpec {
  std::string dir;      // absolute working directory; the only writable path
  std::string command;  // run with /bin/sh -c
  absl::Duration timeout;
  int64_t max_output_bytes = 0;
  std::map<std::string, std::string> env;  // added to a minimal environment
};

class CheckRunner {
 public:
  virtual ~CheckRunner() = default;
  // Runs the command to completion or its time limit. A failing or timed-out
  // command is a result, not an error; errors are for commands that could not
  // be started (INVALID_ARGUMENT for a bad spec, FAILED_PRECONDITION when a
  // required sandbox is missing, INTERNAL for fork/exec failures).
  virtual absl::StatusOr<v1::CheckResult> Run(const CheckSpec& spec) = 0;
};

enum class SandboxMode {
  kAuto,      // bubblewrap when it works, else unsandboxed with a note
  kRequired,  // refuse to run without bubblewrap
  kOff,       // never sandbox
};

struct ProcessCheckRunnerOptions {
  SandboxMode sandbox = SandboxMode::kAuto;
  std::string bwrap_path = "/usr/bin/bwrap";
};

// Runs the command as a child process in its own process group (and, when
// sandboxed, its own pid namespace), which is killed as a whole afterwards, so
// nothing it started outlives the call. Whether bubblewrap works is probed once
// at creation.
class ProcessCheckRunner : public CheckRunner {
 public:
  explicit ProcessCheckRunner(ProcessCheckRunnerOptions options);

  absl::StatusOr<v1::CheckResult> Run(const CheckSpec& spec) override;

  bool sandbox_available() const { return sandbox_available_; }
  // Why bubblewrap is not used, when it is not.
  const std::string& sandbox_note() const { return sandbox_note_; }

 private:
  ProcessCheckRunnerOptions options_;
  bool sandbox_available_ = false;
  std::string sandbox_note_;
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_

// Runs a project's check command (model-written code) in a workspace: in a
// bubblewrap sandbox as an unprivileged uid, with resource limits, a time
// limit and an output cap, and kills everything it started when it ends or
// times out.
#ifndef AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_
#define AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  // Top-level entries of `dir` (plain names, e.g. ".git") that the command
  // sees read-only and that keep their owner.
  std::vector<std::string> read_only_entries;
};

class CheckRunner {
 public:
  virtual ~CheckRunner() = default;
  // Runs the command to completion or its time limit. A failing or timed-out
  // command is a result, not an error; errors are for commands that could not
  // be started (INVALID_ARGUMENT for a bad spec, INTERNAL for fork/exec or
  // sandbox set-up failures). The result always says how the command ran
  // (CheckResult.sandboxed and .sandbox_note).
  virtual absl::StatusOr<v1::CheckResult> Run(const CheckSpec& spec) = 0;
};

enum class SandboxMode {
  kBubblewrap,  // every command in the sandbox below; no fallback
  kNone,        // unsandboxed, only when an operator asked for it explicitly
};

// The toolchain directories a check sees read-only by default: /usr, the
// merged-/usr links (recreated as links), the dynamic loader's cache and
// Debian's alternatives links (python3, cc, java ... resolve through them).
// Paths missing on the host are left out.
std::vector<std::string> DefaultSystemPaths();

struct ProcessCheckRunnerOptions {
  SandboxMode sandbox = SandboxMode::kBubblewrap;
  std::string bwrap_path = "/usr/bin/bwrap";
  std::string setpriv_path = "/usr/bin/setpriv";
  // The host uid and gid checks run as when GitAdapter runs as root. Give
  // them to nothing else: the process limit counts every process of the uid
  // (all concurrent checks share it), and the working tree is handed to it
  // while a check runs. Ignored when GitAdapter is not root: checks then run
  // as GitAdapter's own user inside an unprivileged user namespace.
  uid_t sandbox_uid = 64000;
  gid_t sandbox_gid = 64000;
  // Host paths bound read-only at the same place (a symlink stays a symlink).
  std::vector<std::string> system_paths = DefaultSystemPaths();
  // More read-only paths the toolchain needs (e.g. /etc/ssl, /opt/jdk); each
  // must exist, must be absolute and must not be "/".
  std::vector<std::string> extra_read_only_paths;
  // Limits per check (RLIMIT_NPROC is per uid, see above).
  int64_t max_processes = 512;
  int64_t max_memory_bytes = int64_t{4} << 30;  // address space of each process
  absl::Duration max_cpu_time = absl::Minutes(10);  // per process
  int64_t max_file_bytes = int64_t{1} << 30;     // largest file a check may write
  int64_t tmpfs_bytes = int64_t{512} << 20;      // each of /tmp and /dev/shm
};

// Runs the command as a child process in its own process group, killed as a
// whole afterwards. Sandboxed, the command runs in bubblewrap with every
// namespace unshared (no network, no host IPC or Unix sockets, own pids),
// no capabilities, a new session, a fresh /proc, /dev and size-limited /tmp,
// the system paths read-only, the workspace read-write (its
// read_only_entries read-only) and nothing else of the host. When GitAdapter
// is root, bubblewrap is started through setpriv as sandbox_uid:sandbox_gid
// (no groups, empty capability sets, no_new_privs) inside a pid and mount
// namespace of its own: the workspace is bound into that namespace first (so
// the uid needs no access to the path leading to it), and once the command
// ends the kernel has killed and reaped every process it started before Run
// returns. The working tree (minus read_only_entries) belongs to the
// sandbox uid during the run and to GitAdapter's uid again afterwards (a
// chown both ways, not an idmapped mount: those need CAP_SYS_ADMIN in the
// initial user namespace and filesystem support, and do not exist for a
// non-root GitAdapter); what the check left in the tree is the caller's to
// clean up (ScrubWorkingTree).
class ProcessCheckRunner : public CheckRunner {
 public:
  // INVALID_ARGUMENT naming the option for bad values, FAILED_PRECONDITION
  // when bwrap or setpriv is not executable or the sandbox uid/gid is 0.
  static absl::StatusOr<std::unique_ptr<ProcessCheckRunner>> Create(ProcessCheckRunnerOptions options);

  // Runs a probe in `dir` (an empty scratch directory) and checks that it ran
  // sandboxed as intended: FAILED_PRECONDITION with the probe's output when
  // the sandbox cannot be set up here. OK without running anything when the
  // sandbox is off.
  absl::Status Probe(const std::string& dir);

  absl::StatusOr<v1::CheckResult> Run(const CheckSpec& spec) override;

  bool sandboxed() const { return options_.sandbox == SandboxMode::kBubblewrap; }
  // How checks run: the uid and limits, or that they are unsandboxed.
  const std::string& description() const { return description_; }

 private:
  explicit ProcessCheckRunner(ProcessCheckRunnerOptions options);

  ProcessCheckRunnerOptions options_;
  bool as_root_;  // GitAdapter runs as root: drop to the sandbox uid
  std::string description_;
};

}  // namespace autopack::gitadapter

#endif  // AUTOPACK_SERVICES_GITADAPTER_CHECK_RUNNER_H_

// Runs an Autopack server binary as a child process for cross-service tests:
// starts it on port 0, waits for its "listening on HOST:PORT" log line, and
// stops it with a signal, reporting how it exited.
#ifndef AUTOPACK_TESTS_TESTING_SERVER_PROCESS_H_
#define AUTOPACK_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace autopack::testing {

class ServerProcess {
 public:
  // `binary` is a runfiles-relative path such as
  // "services/builder/builder_server"; `args` come after it (add
  // "--listen=127.0.0.1:0" yourself). `env` entries ("K=V") are added to the
  // test's environment. Fails if the process exits or stays silent for `timeout`.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::vector<std::string>& env = {}, absl::Duration timeout = absl::Seconds(30));

  // Kills the process (SIGKILL) if it is still running.
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "127.0.0.1:PORT".
  std::string address() const;

  // Sends `signal` and waits up to `timeout` for the exit. Returns the exit code,
  // or 128 + signal number when a signal ended it; DEADLINE_EXCEEDED if it did
  // not exit in time (it is then SIGKILLed).
  absl::StatusOr<int> Stop(int signal, absl::Duration timeout);

  // Everything the process wrote to stderr so far.
  std::string Log() const;

 private:
  ServerProcess() = default;
  void ReadOutput(int fd);

  pid_t pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_TESTING_SERVER_PROCESS_H_

// Who may call what: named callers, identified by a bearer token (stored only
// as its SHA-256) or by a verified mTLS client certificate, each holding a set
// of rights; and the per-service table of the right each RPC needs. Knows
// nothing of gRPC (services/common/grpc_auth.h plugs it into the server).
//
// The callers file (--auth_file), YAML:
//
//   callers:
//     - name: alice                      # [A-Za-z0-9._@-]{1,64}, unique
//       token_sha256: 9f86d081...        # hex SHA-256 of the token, unique
//       rights: [submit, read, cancel]
//     - name: supervisor
//       cert_names: [supervisor.autopack.internal]  # client cert CN or SAN
//       token_sha256: 2c26b46b...        # optional when cert_names is set
//       rights: [service]
//
// `autopackctl token new` makes a token and prints its entry. Rights:
//   submit   CreateRun, PreviewRun
//   read     GetRun, ListRuns, WatchRun, GetUsage, ListIssues (own runs)
//   cancel   CancelRun (own runs)
//   admin    every submit/read/cancel method, on every caller's runs
//   service  the Builder, Auditor and GitAdapter RPCs (the Supervisor's peers)
// admin does not imply service: service RPCs run model-written code.
#ifndef AUTOPACK_SERVICES_COMMON_AUTH_H_
#define AUTOPACK_SERVICES_COMMON_AUTH_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "services/common/config.h"

namespace autopack {

enum class Right : uint32_t {
  kSubmit = 1u << 0,
  kRead = 1u << 1,
  kCancel = 1u << 2,
  kAdmin = 1u << 3,
  kService = 1u << 4,
};

// "submit", "read", "cancel", "admin", "service".
absl::string_view RightName(Right right);
// INVALID_ARGUMENT for any other word.
absl::StatusOr<Right> ParseRight(absl::string_view name);

// The identity a call was made with.
struct Caller {
  // The callers-file name; empty when authentication is off.
  std::string name;
  // Bits of Right.
  uint32_t rights = 0;
  // Set only by AuthenticationOff(), never by default, so that a Caller
  // built by mistake holds nothing.
  bool authentication_off = false;

  // Whether the caller holds `right`; admin holds submit, read and cancel
  // too; with authentication off, every right.
  bool Has(Right right) const;
  // Whether the caller may act on something `owner` created: admin, the
  // owner itself (a named caller), or authentication is off.
  bool MayAccess(absl::string_view owner) const;

  // The caller of every call to a server without authentication.
  static Caller AuthenticationOff();
};

// The right each method of one service needs. A method with no entry is
// denied, so a new RPC cannot be callable before someone decides who may.
class MethodRights {
 public:
  // Nothing is callable.
  MethodRights() = default;
  // method name (e.g. "CreateRun") → right.
  MethodRights(std::initializer_list<std::pair<const std::string, Right>> methods)
      : methods_(methods) {}
  // Every method needs `right`.
  static MethodRights Every(Right right);

  absl::optional<Right> Find(absl::string_view method) const;

 private:
  absl::optional<Right> every_;
  std::map<std::string, Right, std::less<>> methods_;
};

// The callers of one server, from a callers file. Thread-safe (immutable).
class Authenticator {
 public:
  // INVALID_ARGUMENT naming file, line and key for a malformed file, an
  // unknown right, a duplicate name, token hash or certificate name; NOT_FOUND
  // when the file is missing.
  static absl::StatusOr<std::unique_ptr<Authenticator>> LoadFile(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Authenticator>> Parse(absl::string_view text,
                                                              const std::string& file_name);

  // Identifies a caller from the values of its `authorization` headers and
  // the names (CN and SANs) of its verified client certificate, if any. A
  // bearer token wins over the certificate; a bad token is never excused by a
  // good certificate. UNAUTHENTICATED for no credentials, several
  // authorization headers, a scheme other than Bearer (any case), a malformed
  // or oversized token, an unknown token or certificate. Messages never
  // contain the token.
  absl::StatusOr<Caller> Authenticate(const std::vector<absl::string_view>& authorization,
                                      const std::vector<std::string>& cert_names) const;

 private:
  struct Entry {
    std::string name;
    std::string token_sha256;  // lower-case hex; empty when the caller has no token
    std::vector<std::string> cert_names;
    uint32_t rights = 0;
  };
  explicit Authenticator(std::vector<Entry> entries) : entries_(std::move(entries)) {}
  static absl::StatusOr<std::unique_ptr<Authenticator>> Parse(const ConfigNode& root);
  static Caller CallerOf(const Entry& entry);

  std::vector<Entry> entries_;
};

// Everything one server checks before a call reaches a service: health is
// open, reflection needs any valid caller, every other method needs the right
// its service's MethodRights names.
class AccessPolicy {
 public:
  explicit AccessPolicy(std::shared_ptr<const Authenticator> authenticator)
      : authenticator_(std::move(authenticator)) {}

  // `service` is the full name, e.g. "autopack.v1.SupervisorService".
  void AddService(const std::string& service, MethodRights rights);

  // `path` is the HTTP/2 path "/package.Service/Method". The caller, or
  // UNAUTHENTICATED (see Authenticator::Authenticate) or PERMISSION_DENIED
  // naming the method and the right it lacks.
  absl::StatusOr<Caller> Check(absl::string_view path,
                               const std::vector<absl::string_view>& authorization,
                               const std::vector<std::string>& cert_names) const;

  const Authenticator& authenticator() const { return *authenticator_; }

 private:
  std::shared_ptr<const Authenticator> authenticator_;
  std::map<std::string, MethodRights, std::less<>> services_;
};

// A new random token (256 bits, URL-safe base64 without padding) from the
// operating system's random source. INTERNAL if it cannot be read.
absl::StatusOr<std::string> NewToken();

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_AUTH_H_

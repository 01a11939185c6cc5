// config/auditor.yaml: the Auditor's deterministic policy (protected paths,
// secret patterns, mass-deletion limits) and its review profiles.
#ifndef AUTOPACK_SERVICES_AUDITOR_AUDITOR_CONFIG_H_
#define AUTOPACK_SERVICES_AUDITOR_AUDITOR_CONFIG_H_

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"

namespace autopack::auditor {

struct SecretPattern {
  std::string name;
  std::shared_ptr<const std::regex> regex;
};

struct AuditorConfig {
  std::vector<std::string> protected_paths;  // globs
  std::vector<SecretPattern> secret_patterns;
  int64_t max_deleted_lines = 400;
  int64_t max_deleted_files = 10;
  std::map<std::string, std::string> profiles;  // name → what the model focuses on

  // Parses an auditor.yaml document; errors name file, line and key (a
  // pattern that does not compile included). It must define a "general" profile.
  static absl::StatusOr<AuditorConfig> FromConfig(const ConfigNode& root);
  static absl::StatusOr<AuditorConfig> LoadFile(const std::string& path);
};

}  // namespace autopack::auditor

#endif  // AUTOPACK_SERVICES_AUDITOR_AUDITOR_CONFIG_H_

#include "services/auditor/auditor_config.h"

#include "absl/strings/str_cat.h"
#include "services/common/status_macros.h"

namespace autopack::auditor {

absl::StatusOr<AuditorConfig> AuditorConfig::FromConfig(const ConfigNode& root) {
  RETURN_IF_ERROR(
      root.CheckKeys({"protected_paths", "secret_patterns", "mass_deletion", "profiles"}));
  AuditorConfig config;
  ASSIGN_OR_RETURN(config.protected_paths, root.GetStringList("protected_paths"));
  ASSIGN_OR_RETURN(ConfigNode patterns, root.Get("secret_patterns"));
  ASSIGN_OR_RETURN(auto pattern_entries, patterns.Entries());
  for (const auto& [name, node] : pattern_entries) {
    ASSIGN_OR_RETURN(std::string text, node.AsString());
    try {
      config.secret_patterns.push_back(
          {name, std::make_shared<const std::regex>(text, std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
      return node.Error(absl::StrCat("not a valid regular expression: ", e.what()));
    }
  }
  ASSIGN_OR_RETURN(ConfigNode deletion, root.Get("mass_deletion"));
  RETURN_IF_ERROR(deletion.CheckKeys({"max_deleted_lines", "max_deleted_files"}));
  ASSIGN_OR_RETURN(config.max_deleted_lines, deletion.GetInt("max_deleted_lines"));
  ASSIGN_OR_RETURN(config.max_deleted_files, deletion.GetInt("max_deleted_files"));
  if (config.max_deleted_lines < 0 || config.max_deleted_files < 0) {
    return deletion.Error("limits must not be negative");
  }
  ASSIGN_OR_RETURN(ConfigNode profiles, root.Get("profiles"));
  ASSIGN_OR_RETURN(auto profile_entries, profiles.Entries());
  for (const auto& [name, node] : profile_entries) {
    ASSIGN_OR_RETURN(config.profiles[name], node.AsString());
  }
  if (config.profiles.count("general") == 0) {
    return profiles.Error("a \"general\" profile is required");
  }
  return config;
}

absl::StatusOr<AuditorConfig> AuditorConfig::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return FromConfig(root);
}

}  // namespace autopack::auditor

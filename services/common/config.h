// YAML configuration access that never throws and whose every error names the
// file, the line and the key, e.g.
//   INVALID_ARGUMENT: config/pricing.yaml:14: key 'models.openai/gpt-4o.input_per_1m':
//   expected a number, got "cheap"
#ifndef AUTOPACK_SERVICES_COMMON_CONFIG_H_
#define AUTOPACK_SERVICES_COMMON_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "yaml-cpp/yaml.h"

namespace autopack {

// A node of a parsed YAML document, remembering the file it came from and its
// key path ("tiers[1].phases[0].complexity"). Cheap to copy.
class ConfigNode {
 public:
  // Reads and parses a file. NOT_FOUND if it is missing; INVALID_ARGUMENT with
  // file, line and the enclosing key if it is not valid YAML.
  static absl::StatusOr<ConfigNode> LoadFile(const std::string& path);
  // Parses text; `file_name` is only used in messages.
  static absl::StatusOr<ConfigNode> Parse(absl::string_view text, const std::string& file_name);

  const std::string& file() const { return *file_; }
  const std::string& key_path() const { return key_path_; }
  // 1-based line of the node in its file; 0 if unknown.
  int line() const;

  bool IsMap() const { return node_.IsMap(); }
  bool IsList() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }

  // Child of a map. INVALID_ARGUMENT when this is not a map or the key is absent.
  absl::StatusOr<ConfigNode> Get(absl::string_view key) const;
  // Child of a map, or nullopt when absent or null.
  absl::optional<ConfigNode> Find(absl::string_view key) const;

  // Scalar conversions; errors quote the offending value.
  absl::StatusOr<std::string> AsString() const;
  absl::StatusOr<int64_t> AsInt() const;
  absl::StatusOr<double> AsDouble() const;
  absl::StatusOr<bool> AsBool() const;
  absl::StatusOr<std::vector<std::string>> AsStringList() const;

  // Required and optional scalar members of a map.
  absl::StatusOr<std::string> GetString(absl::string_view key) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key) const;
  absl::StatusOr<double> GetDouble(absl::string_view key) const;
  absl::StatusOr<std::string> GetString(absl::string_view key, absl::string_view def) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t def) const;
  absl::StatusOr<double> GetDouble(absl::string_view key, double def) const;
  absl::StatusOr<bool> GetBool(absl::string_view key, bool def) const;
  absl::StatusOr<std::vector<std::string>> GetStringList(absl::string_view key) const;

  // Members of a map in file order. INVALID_ARGUMENT when this is not a map.
  absl::StatusOr<std::vector<std::pair<std::string, ConfigNode>>> Entries() const;
  // Items of a list. INVALID_ARGUMENT when this is not a list.
  absl::StatusOr<std::vector<ConfigNode>> Items() const;

  // INVALID_ARGUMENT naming the first key of this map that is not in `allowed`
  // (catches typos that would otherwise silently take a default).
  absl::Status CheckKeys(std::initializer_list<absl::string_view> allowed) const;

  // INVALID_ARGUMENT "file:line: key 'path': what".
  absl::Status Error(absl::string_view what) const;

 private:
  ConfigNode(std::shared_ptr<const std::string> file, YAML::Node node, std::string key_path,
             int fallback_line)
      : file_(std::move(file)), node_(std::move(node)), key_path_(std::move(key_path)),
        fallback_line_(fallback_line) {}
  ConfigNode Child(const YAML::Node& node, std::string key_path) const;

  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string key_path_;
  int fallback_line_ = 0;  // the parent's line, for nodes without a mark
};

}  // namespace autopack

#endif  // AUTOPACK_SERVICES_COMMON_CONFIG_H_

#include "services/common/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/files.h"
#include "services/common/status_macros.h"

namespace autopack {
namespace {

// yaml-cpp reports where parsing failed but not under which key. Rebuild the
// key path from indentation: the innermost "key:" lines enclosing `line0`.
std::string EnclosingKeyPath(absl::string_view text, int line0) {
  std::vector<std::pair<size_t, std::string>> stack;  // (indent, key)
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line_no > line0) break;
    ++line_no;
    size_t indent = 0;
    while (indent < line.size() && (line[indent] == ' ' || line[indent] == '-')) ++indent;
    absl::string_view rest = line.substr(indent);
    if (rest.empty() || rest[0] == '#') continue;
    const size_t colon = rest.find(':');
    if (colon == absl::string_view::npos || colon == 0) continue;
    absl::string_view key = absl::StripAsciiWhitespace(rest.substr(0, colon));
    if (key.find_first_of("{}[]\"'") != absl::string_view::npos) continue;
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    stack.emplace_back(indent, std::string(key));
  }
  std::vector<std::string> keys;
  for (const auto& entry : stack) keys.push_back(entry.second);
  return absl::StrJoin(keys, ".");
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

}  // namespace

absl::StatusOr<ConfigNode> ConfigNode::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

absl::StatusOr<ConfigNode> ConfigNode::Parse(absl::string_view text,
                                             const std::string& file_name) {
  auto file = std::make_shared<const std::string>(file_name);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return ConfigNode(file, root, "", 1);
  } catch (const YAML::Exception& e) {
    const int line0 = e.mark.is_null() ? 0 : e.mark.line;
    const std::string key = EnclosingKeyPath(text, line0);
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ":", line0 + 1, ":", e.mark.is_null() ? 0 : e.mark.column + 1,
        ": malformed YAML", key.empty() ? "" : absl::StrCat(" under key '", key, "'"),
        ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": malformed YAML: ", e.what()));
  }
}

int ConfigNode::line() const {
  if (node_.IsDefined() && !node_.Mark().is_null()) return node_.Mark().line + 1;
  return fallback_line_;
}

absl::Status ConfigNode::Error(absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(
      *file_, ":", line(), ": ",
      key_path_.empty() ? std::string("top level") : absl::StrCat("key '", key_path_, "'"),
      ": ", what));
}

ConfigNode ConfigNode::Child(const YAML::Node& node, std::string key_path) const {
  return ConfigNode(file_, node, std::move(key_path), line());
}

absl::optional<ConfigNode> ConfigNode::Find(absl::string_view key) const {
  if (!node_.IsMap()) return absl::nullopt;
  const YAML::Node child = node_[std::string(key)];
  if (!child.IsDefined() || child.IsNull()) return absl::nullopt;
  return Child(child, key_path_.empty() ? std::string(key) : absl::StrCat(key_path_, ".", key));
}

absl::StatusOr<ConfigNode> ConfigNode::Get(absl::string_view key) const {
  if (!node_.IsMap()) return Error("expected a map");
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) {
    return Child(YAML::Node(), key_path_.empty() ? std::string(key)
                                                 : absl::StrCat(key_path_, ".", key))
        .Error("required key is missing");
  }
  return *child;
}

absl::StatusOr<std::string> ConfigNode::AsString() const {
  if (!node_.IsScalar()) return Error("expected a string");
  return node_.Scalar();
}

absl::StatusOr<int64_t> ConfigNode::AsInt() const {
  if (!node_.IsScalar()) return Error("expected an integer");
  int64_t value = 0;
  std::string text = node_.Scalar();
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  if (!absl::SimpleAtoi(text, &value)) {
    return Error(absl::StrCat("expected an integer, got ", Quote(node_.Scalar())));
  }
  return value;
}

absl::StatusOr<double> ConfigNode::AsDouble() const {
  if (!node_.IsScalar()) return Error("expected a number");
  double value = 0;
  if (!absl::SimpleAtod(node_.Scalar(), &value)) {
    return Error(absl::StrCat("expected a number, got ", Quote(node_.Scalar())));
  }
  return value;
}

absl::StatusOr<bool> ConfigNode::AsBool() const {
  if (!node_.IsScalar()) return Error("expected true or false");
  const std::string v = absl::AsciiStrToLower(node_.Scalar());
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off") return false;
  return Error(absl::StrCat("expected true or false, got ", Quote(node_.Scalar())));
}

absl::StatusOr<std::vector<std::string>> ConfigNode::AsStringList() const {
  ASSIGN_OR_RETURN(std::vector<ConfigNode> items, Items());
  std::vector<std::string> out;
  for (const ConfigNode& item : items) {
    ASSIGN_OR_RETURN(std::string s, item.AsString());
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::string> ConfigNode::GetString(absl::string_view key) const {
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsString();
}
absl::StatusOr<int64_t> ConfigNode::GetInt(absl::string_view key) const {
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsInt();
}
absl::StatusOr<double> ConfigNode::GetDouble(absl::string_view key) const {
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsDouble();
}
absl::StatusOr<std::string> ConfigNode::GetString(absl::string_view key,
                                                  absl::string_view def) const {
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) return std::string(def);
  return child->AsString();
}
absl::StatusOr<int64_t> ConfigNode::GetInt(absl::string_view key, int64_t def) const {
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) return def;
  return child->AsInt();
}
absl::StatusOr<double> ConfigNode::GetDouble(absl::string_view key, double def) const {
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) return def;
  return child->AsDouble();
}
absl::StatusOr<bool> ConfigNode::GetBool(absl::string_view key, bool def) const {
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) return def;
  return child->AsBool();
}
absl::StatusOr<std::vector<std::string>> ConfigNode::GetStringList(absl::string_view key) const {
  absl::optional<ConfigNode> child = Find(key);
  if (!child.has_value()) return std::vector<std::string>();
  return child->AsStringList();
}

absl::StatusOr<std::vector<std::pair<std::string, ConfigNode>>> ConfigNode::Entries() const {
  if (!node_.IsMap()) return Error("expected a map");
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) return Error("map keys must be strings");
    const std::string key = kv.first.Scalar();
    out.emplace_back(key, Child(kv.second, key_path_.empty() ? key
                                                             : absl::StrCat(key_path_, ".", key)));
  }
  return out;
}

absl::StatusOr<std::vector<ConfigNode>> ConfigNode::Items() const {
  if (!node_.IsSequence()) return Error("expected a list");
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < node_.size(); ++i) {
    out.push_back(Child(node_[i], absl::StrCat(key_path_, "[", i, "]")));
  }
  return out;
}

absl::Status ConfigNode::CheckKeys(std::initializer_list<absl::string_view> allowed) const {
  ASSIGN_OR_RETURN(auto entries, Entries());
  for (const auto& [key, child] : entries) {
    bool known = false;
    for (absl::string_view a : allowed) known = known || a == key;
    if (!known) {
      return child.Error(absl::StrCat("unknown key (expected one of: ",
                                      absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace autopack

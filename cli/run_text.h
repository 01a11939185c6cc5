// How autopackctl writes the Supervisor's figures for people: micro-USD as
// dollars, token usage, enum names without their prefix.
#ifndef AUTOPACK_CLI_RUN_TEXT_H_
#define AUTOPACK_CLI_RUN_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "autopack/v1/common.pb.h"

namespace autopack::cli {

// "$0.009381".
std::string Usd(int64_t micro);
// "4200 in (0 cached) / 720 out": input counts cached tokens, output reasoning.
std::string Tokens(const v1::TokenUsage& usage);
// `name` without `prefix` ("RUN_STATE_RUNNING" -> "RUNNING").
std::string Short(const std::string& name, absl::string_view prefix);

}  // namespace autopack::cli

#endif  // AUTOPACK_CLI_RUN_TEXT_H_

// The terminal view of `autopackctl watch`: a run's events folded into one
// frame — per tier and phase the state (the phase's current step), attempt,
// models, tokens and cost, with the run's budget used and elapsed time —
// that the caller redraws in place. Not thread-safe; guard it if a ticker
// redraws while events arrive.
#ifndef AUTOPACK_CLI_LIVE_VIEW_H_
#define AUTOPACK_CLI_LIVE_VIEW_H_

#include <string>

#include "absl/time/time.h"
#include "autopack/v1/supervisor.pb.h"

namespace autopack::cli {

class LiveView {
 public:
  // Folds one WatchRun event in; a snapshot replaces what was known.
  void Apply(const v1::RunEvent& event);

  // The frame at `now`, lines ending in "\n". Elapsed time counts from the
  // run's start (or creation) to its end, or to `now` while it runs.
  std::string Render(absl::Time now) const;

  // Bytes that, written before a new frame, erase `previous` (the last frame
  // written) so that the new one replaces it on a terminal.
  static std::string Erase(const std::string& previous);

 private:
  v1::PhaseStatus* Phase(const std::string& phase_id);
  v1::TierStatus* Tier(const std::string& tier_id);

  v1::Run run_;
  std::string last_warning_;
};

}  // namespace autopack::cli

#endif  // AUTOPACK_CLI_LIVE_VIEW_H_

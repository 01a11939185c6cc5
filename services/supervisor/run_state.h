// What a run's state says about its future.
#ifndef AUTOPACK_SERVICES_SUPERVISOR_RUN_STATE_H_
#define AUTOPACK_SERVICES_SUPERVISOR_RUN_STATE_H_

#include "autopack/v1/supervisor.pb.h"

namespace autopack::supervisor {

// True once a run can change no more (DONE_* or CANCELLED). A run paused at
// a budget cap is not final: RaiseBudget (or CancelRun) moves it on.
inline bool IsFinalRunState(v1::RunState state) {
  return state != v1::RUN_STATE_UNSPECIFIED && state != v1::RUN_STATE_CREATED &&
         state != v1::RUN_STATE_RUNNING && state != v1::RUN_STATE_PAUSED_BUDGET;
}

}  // namespace autopack::supervisor

#endif  // AUTOPACK_SERVICES_SUPERVISOR_RUN_STATE_H_

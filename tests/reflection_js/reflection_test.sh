#!/bin/bash
# Runs reflection_test.js with the npm packages ./autopack installs (the
# directory holding node_modules is passed in AUTOPACK_NODE_MODULES).
set -euo pipefail
if [[ -z "${AUTOPACK_NODE_MODULES:-}" || ! -d "${AUTOPACK_NODE_MODULES}/@grpc/grpc-js" ]]; then
  echo "AUTOPACK_NODE_MODULES must point at node_modules with @grpc/grpc-js and" >&2
  echo "grpc-js-reflection-client; './autopack test' installs them and sets it." >&2
  exit 1
fi
export NODE_PATH="${AUTOPACK_NODE_MODULES}"
exec node tests/reflection_js/reflection_test.js

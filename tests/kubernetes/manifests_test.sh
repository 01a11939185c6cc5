#!/bin/bash
# Runs manifests_test.mjs with the npm packages ./autopack installs (the
# directory holding node_modules is passed in AUTOPACK_K8S_NODE_MODULES) and
# a secrets directory made by deploy/compose/make-secrets.sh.
set -euo pipefail
if [[ -z "${AUTOPACK_K8S_NODE_MODULES:-}" || ! -d "${AUTOPACK_K8S_NODE_MODULES}/kubernetes-models" ]]; then
  echo "AUTOPACK_K8S_NODE_MODULES must point at node_modules with kubernetes-models," >&2
  echo "@kubernetes/client-node and yaml; './autopack test' installs them and sets it." >&2
  exit 1
fi
export SECRETS_DIR="$TEST_TMPDIR/secrets"
deploy/compose/make-secrets.sh "$SECRETS_DIR" cli/autopackctl >/dev/null
# ES modules resolve packages next to the script, not through NODE_PATH.
cp tests/kubernetes/manifests_test.mjs "$TEST_TMPDIR/"
ln -sfn "$AUTOPACK_K8S_NODE_MODULES" "$TEST_TMPDIR/node_modules"
exec node "$TEST_TMPDIR/manifests_test.mjs"

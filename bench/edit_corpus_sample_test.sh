#!/bin/bash
# Runs bench/edit_bench on the committed corpus sample: Autopack must produce
# no wrong tree on any case (the benchmark's hard target), offline.
set -euo pipefail
SRC="${TEST_SRCDIR}/${TEST_WORKSPACE}"
table="$("${SRC}/bench/edit_bench" "${SRC}/bench/edit_corpus/sample")"
echo "${table}"
all="$(grep '^| all |' <<<"${table}")"
ours="$(cut -d'|' -f5 <<<"${all}" | tr -d ' ')"
wrong="${ours##*/}"
cases="$(cut -d'|' -f4 <<<"${all}" | tr -d ' ')"
[[ "${cases}" -ge 20 ]] || { echo "only ${cases} cases"; exit 1; }
[[ "${wrong}" == "0" ]] || { echo "Autopack produced ${wrong} wrong trees"; exit 1; }

#!/bin/bash
# Builds the diff-parser fuzz target with clang's libFuzzer (Bazel here uses
# gcc, which has no libFuzzer) and runs it for a bounded time, starting from
# the committed corpus. Any crash, sanitizer report, leak or slow input fails
# the test; the input that caused it is printed as hex.
set -euo pipefail

SRC="${TEST_SRCDIR}/${TEST_WORKSPACE}"
OUT="${TEST_TMPDIR}/fuzz"
SECONDS_TO_RUN="${FUZZ_SECONDS:-20}"
CLANG="$(command -v clang++-14 || command -v clang++)"
mkdir -p "${OUT}/corpus" "${OUT}/artifacts"
cp "${SRC}/services/gitadapter/fuzz/corpus/"* "${OUT}/corpus/"

ABSL_LIBS=(-labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info -labsl_cord_internal
  -labsl_cordz_functions -labsl_cordz_handle -labsl_exponential_biased -labsl_synchronization
  -labsl_graphcycles_internal -labsl_stacktrace -labsl_symbolize -labsl_debugging_internal
  -labsl_demangle_internal -labsl_malloc_internal -labsl_time -labsl_civil_time -labsl_time_zone
  -labsl_strerror -labsl_str_format_internal -labsl_strings -labsl_strings_internal -labsl_int128
  -labsl_base -labsl_spinlock_wait -labsl_throw_delegate -labsl_raw_logging_internal
  -labsl_log_severity -labsl_bad_optional_access)

"${CLANG}" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"${SRC}" \
  "${SRC}/services/gitadapter/fuzz/patch_fuzzer.cc" \
  "${SRC}/services/common/patch/patch.cc" \
  "${SRC}/services/common/text.cc" \
  "${SRC}/services/gitadapter/hunk_applier.cc" \
  "${SRC}/services/gitadapter/path_safety.cc" \
  "${SRC}/services/common/glob.cc" \
  -o "${OUT}/fuzzer" "${ABSL_LIBS[@]}"

status=0
"${OUT}/fuzzer" -max_total_time="${SECONDS_TO_RUN}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="${OUT}/artifacts/" -print_final_stats=1 "${OUT}/corpus" || status=$?
if [[ ${status} -ne 0 ]]; then
  for artifact in "${OUT}/artifacts/"*; do
    [[ -f "${artifact}" ]] || continue
    echo "failing input ${artifact}:"
    od -c "${artifact}" | head -40
  done
  exit "${status}"
fi

#!/usr/bin/env bash
# The QGIS version matrix: for each VERSION (default: 3.40 3.44) build its Debian 13 root when missing, run the
# tests in it (tools/matrix/run_tests.sh; pytest args from $MATRIX_PYTEST_ARGS, default the unit, qgis, cli and
# gui tiers), then print one summary per version: root build or reuse time, test counts per tier and test time.
#
#   tools/matrix/matrix.sh [VERSION...]        (make test-matrix)
#
# Exit status 1 when a root cannot be built or a test fails on any version.
set -uo pipefail
LM_SCRIPT=matrix
# shellcheck source=lib.sh disable=SC2034
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -gt 0 ] || set -- 3.40 3.44
for version in "$@"; do lm_check_version "$version"; done
read -r -a pytest_args <<< "${MATRIX_PYTEST_ARGS:-}"
start=$SECONDS
status=0
summaries=()
for version in "$@"; do
  output=${LM_MATRIX_OUTPUT_BASE:-$LM_REPO/test-output/matrix}/qgis-$version
  mkdir -p "$output"
  rm -f "$output/summary.txt"
  lm_log "== QGIS $version: root"
  t0=$SECONDS
  if ! "$LM_MATRIX_DIR/build_root.sh" "$version"; then
    summaries+=("QGIS $version: FAILED: its root could not be built (see the log above)")
    status=1
    continue
  fi
  root_time="root ready in $((SECONDS - t0)) s"
  lm_log "== QGIS $version: tests"
  LM_MATRIX_NO_BUILD=1 LM_MATRIX_OUTPUT="$output" "$LM_MATRIX_DIR/run_tests.sh" "$version" "${pytest_args[@]}" \
    || status=1
  if [ -f "$output/summary.txt" ]; then
    summaries+=("$root_time; $(cat "$output/summary.txt")")
  else
    summaries+=("QGIS $version: $root_time; the test run left no summary")
    status=1
  fi
done
echo
echo "== QGIS version matrix: $((SECONDS - start)) s in all"
printf '%s\n' "${summaries[@]}"
exit $status

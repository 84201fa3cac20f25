#!/usr/bin/env bash
# Run the plugin's tests on one QGIS version of the matrix, inside its Debian 13 root.
#
#   tools/matrix/run_tests.sh VERSION [pytest args...]
#   tools/matrix/run_tests.sh VERSION --exec COMMAND [args...]   run COMMAND there instead (e.g. bash, make demo)
#
# VERSION = 3.40 or 3.44. Builds the root first when it is missing (tools/matrix/build_root.sh; set
# LM_MATRIX_NO_BUILD=1 to fail instead). Default pytest args: tests/unit tests/qgis tests/cli tests/gui.
# The checkout is bind-mounted read-write at its own path inside the root (tests/conftest.py links it as the
# package `labelmigration`; the cli tier runs `make install` into a temporary HOME), ../shared read-only next to
# it; /proc, /sys and /dev are mounted too, and everything is unmounted on exit. pytest runs with the root's
# venv (/opt/lm-venv, Debian's QGIS/GDAL/numpy) and QT_QPA_PLATFORM=offscreen, in a fresh HOME.
# Results: $LM_MATRIX_OUTPUT (default test-output/matrix/qgis-VERSION/): pytest.log, junit.xml, summary.txt, and
# gui/ (mounted over the checkout's test-output/gui/ inside the root: the GUI tier's screenshots of that version).
# Exit status: pytest's.
set -euo pipefail
LM_SCRIPT=run_tests
# shellcheck source=lib.sh disable=SC2034
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in -h|--help) sed -n '2,13p' "$0"; exit 0 ;; esac
VERSION=${1:-}
lm_check_version "$VERSION"
[ "$(id -u)" -eq 0 ] || lm_die "needs root (chroot and mount): run it as root or with sudo"
ROOT=$(lm_root_dir "$VERSION")

if [ -z "${LM_MATRIX_NS:-}" ]; then
  if [ "${LM_MATRIX_NO_BUILD:-0}" = 1 ]; then
    [ -f "$ROOT.complete" ] || lm_die "the QGIS $VERSION root $ROOT is not built (tools/matrix/build_root.sh $VERSION)"
  else
    "$LM_MATRIX_DIR/build_root.sh" "$VERSION"
  fi
fi
lm_enter_namespace "$0" "$@"
lm_trap_signals
shift
EXEC=0
if [ "${1:-}" = --exec ]; then
  EXEC=1; shift
  [ $# -gt 0 ] || lm_die "--exec needs a command"
elif [ $# -eq 0 ]; then
  set -- tests/unit tests/qgis tests/cli tests/gui
fi

OUTPUT=${LM_MATRIX_OUTPUT:-$LM_REPO/test-output/matrix/qgis-$VERSION}
# In a private namespace several runs may share a root; without one their mounts would collide.
if [ -n "${LM_MATRIX_NS:-}" ]; then lm_lock "$ROOT" -s 9; else lm_lock "$ROOT" -x 9; fi
[ -f "$ROOT.complete" ] || lm_die "the QGIS $VERSION root $ROOT is not complete (tools/matrix/build_root.sh $VERSION)"

SHARED=$(dirname "$LM_REPO")/shared
RUN_TMP=""
on_exit() {
  local rc=$?
  set +e
  lm_unmount_under "$ROOT" || lm_log "ERROR: mounts remain under $ROOT"
  # The run's /tmp is deleted only when nothing is mounted under the root or under it any more.
  if [ -n "$RUN_TMP" ] && [ -z "$(lm_mounts_under "$ROOT")" ] && [ -z "$(lm_mounts_under "$RUN_TMP")" ]; then
    rm -rf --one-file-system "$RUN_TMP" || lm_log "WARNING: could not delete all of $RUN_TMP"
  fi
  exit $rc
}
trap on_exit EXIT

lm_mount_system "$ROOT"
# A fresh /tmp for every run (on disk next to the roots, deleted afterwards): the tests leave files there, and the
# root stays as it was built. Mounted first: a checkout under /tmp (a CI clone) is bound into it below.
RUN_TMP=$(mktemp -d "$LM_ROOTS_DIR/run-tmp.XXXXXX")
chmod 1777 "$RUN_TMP"
mount --bind "$RUN_TMP" "$ROOT/tmp"
mkdir -p "$ROOT$LM_REPO"
mount --bind "$LM_REPO" "$ROOT$LM_REPO"
# The host's .venv (Python 3.11, tests/qgis/test_demo.py runs .venv/bin/python when it exists) would run with the
# root's Python 3.13 and none of its packages: the root's own venv takes its place, read-only.
if [ -d "$LM_REPO/.venv" ]; then
  mount --bind "$ROOT$LM_VENV" "$ROOT$LM_REPO/.venv"
  mount -o remount,bind,ro "$ROOT$LM_REPO/.venv"
fi
if [ -d "$SHARED" ]; then
  mkdir -p "$ROOT$SHARED"
  mount --bind "$SHARED" "$ROOT$SHARED"
  mount -o remount,bind,ro "$ROOT$SHARED"
else
  lm_log "WARNING: $SHARED is missing: the tests that read shared data skip"
fi
# The GUI tier writes its screenshots to test-output/gui/ of the checkout: each version gets its own ($OUTPUT/gui).
mkdir -p "$OUTPUT/gui" "$LM_REPO/test-output/gui"
mount --bind "$OUTPUT/gui" "$ROOT$LM_REPO/test-output/gui"
RUN_DIR=/tmp/lm-run
mkdir -p "$ROOT$RUN_DIR/home" "$ROOT$RUN_DIR/xdg"
chmod 700 "$ROOT$RUN_DIR/xdg"

QGIS_VERSION=$(lm_in_root "$ROOT" QT_QPA_PLATFORM=offscreen "$LM_VENV/bin/python" -c \
  'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null | tail -n 1)
ROOT_ENV=(PATH="$LM_VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  HOME="$RUN_DIR/home" XDG_RUNTIME_DIR="$RUN_DIR/xdg" LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM="${TERM:-dumb}"
  QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1 LM_MATRIX_QGIS="$VERSION")
if [ "$EXEC" = 1 ]; then
  lm_log "QGIS $QGIS_VERSION ($(basename "$ROOT")): $*"
  set +e
  chroot "$ROOT" /usr/bin/env -i "${ROOT_ENV[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$LM_REPO" "$@"
  exit $?
fi
lm_log "QGIS $QGIS_VERSION ($(basename "$ROOT")): pytest $*"
START=$SECONDS
set +e
chroot "$ROOT" /usr/bin/env -i "${ROOT_ENV[@]}" \
  /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$LM_REPO" \
  "$LM_VENV/bin/python" -m pytest -p no:cacheprovider --junitxml="$RUN_DIR/junit.xml" "$@" \
  2>&1 | tee "$OUTPUT/pytest.log"
rc=${PIPESTATUS[0]}
set -e
ELAPSED=$((SECONDS - START))
if [ -f "$ROOT$RUN_DIR/junit.xml" ]; then
  cp "$ROOT$RUN_DIR/junit.xml" "$OUTPUT/junit.xml"
  python3 "$LM_MATRIX_DIR/summarize.py" --label "QGIS $QGIS_VERSION" --seconds "$ELAPSED" --exit-status "$rc" \
    "$OUTPUT/junit.xml" | tee "$OUTPUT/summary.txt"
else
  echo "QGIS $QGIS_VERSION: pytest wrote no results (exit $rc) after $ELAPSED s" | tee "$OUTPUT/summary.txt"
fi
exit "$rc"

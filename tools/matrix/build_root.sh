#!/usr/bin/env bash
# Build (or reuse) the Debian 13 root file system of one QGIS version of the test matrix.
#
#   tools/matrix/build_root.sh VERSION            build or reuse; VERSION = 3.40 (trixie) or 3.44 (trixie-backports)
#   tools/matrix/build_root.sh --path VERSION     print the root's folder (built or not) and exit
#   tools/matrix/build_root.sh --remove VERSION   unmount and delete that root (refuses while mounts remain)
#   tools/matrix/build_root.sh --prune            delete the roots whose key is no longer current (not in use)
#
# The root is $LM_ROOTS_DIR/qgis-VERSION-KEY (default /var/cache/labelmigration/roots), KEY a hash of the package
# lists, pip pins and options in tools/matrix/lib.sh and requirements-trixie.txt: a changed list builds a new root.
# A root is complete when qgis-VERSION-KEY.complete exists (written last); a folder without it (an interrupted
# build) is deleted and built again. 3.44 starts from a copy of the complete 3.40 root (built first if needed)
# and installs QGIS from trixie-backports. Needs root (debootstrap, chroot, mount). Fails with the reason when
# something cannot be built; never skips.
set -euo pipefail
LM_SCRIPT=build_root
# shellcheck source=lib.sh disable=SC2034
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARGS=("$@")
mode=build
case "${1:-}" in
  --path) mode=path; shift ;;
  --remove) mode=remove; shift ;;
  --prune) mode=prune; shift; set -- 3.40 ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
esac
VERSION=${1:-}
lm_check_version "$VERSION"
ROOT=$(lm_root_dir "$VERSION")
STAMP=$ROOT.complete

if [ "$mode" = path ]; then echo "$ROOT"; exit 0; fi
[ "$(id -u)" -eq 0 ] || lm_die "needs root (debootstrap, chroot and mount): run it as root or with sudo"
lm_enter_namespace "$0" "${ARGS[@]}"
lm_trap_signals
mkdir -p "$LM_ROOTS_DIR"
if [ "$mode" = prune ]; then
  current=("$(lm_root_dir 3.40)" "$(lm_root_dir 3.44)")
  for dir in "$LM_ROOTS_DIR"/qgis-*; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    case " ${current[*]} " in *" $dir "*) continue ;; esac
    exec 7>"$dir.lock"
    if ! flock -n -x 7; then lm_log "in use, kept: $dir"; continue; fi
    rm -f "$dir.complete"
    lm_safe_remove "$dir"
    rm -f "$dir.lock"
    exec 7>&-
    lm_log "pruned $dir"
  done
  exit 0
fi
lm_lock "$ROOT" -x 9

if [ "$mode" = remove ]; then
  rm -f "$STAMP"
  lm_safe_remove "$ROOT"
  lm_log "removed $ROOT"
  exit 0
fi

if [ -f "$STAMP" ] && [ -d "$ROOT" ]; then
  lm_log "reusing the complete QGIS $VERSION root $ROOT ($(sed -n 's/^qgis_version=//p' "$STAMP"))"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------------------
STEP=""
STEP_START=$SECONDS
BUILD_START=$SECONDS
TIMES=()
step() {  # step NAME: closes the previous step (logging its time) and opens the next
  if [ -n "$STEP" ]; then
    TIMES+=("$STEP: $((SECONDS - STEP_START)) s")
    lm_log "done: $STEP ($((SECONDS - STEP_START)) s)"
  fi
  STEP=$1
  STEP_START=$SECONDS
  [ -n "$STEP" ] && lm_log "step: $STEP"
  return 0
}
on_exit() {
  local rc=$?
  set +e
  if [ -d "$ROOT" ]; then lm_unmount_under "$ROOT"; fi
  if [ $rc -ne 0 ]; then
    lm_log "FAILED building the QGIS $VERSION root in step '${STEP:-?}' (exit $rc) after $((SECONDS - BUILD_START)) s;" \
           "the incomplete root $ROOT has no stamp and is rebuilt next time"
  fi
  exit $rc
}
trap on_exit EXIT

lm_log "building the QGIS $VERSION root in $ROOT"
if [ -e "$ROOT" ]; then
  step "remove the incomplete root left by an interrupted build"
  lm_safe_remove "$ROOT"
fi

MIRROR=$(lm_host_mirror main) || lm_die "found no Debian archive in the host's apt sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list); set LM_DEBIAN_MIRROR"
SECURITY_MIRROR=$(lm_host_mirror security || true)

write_sources() {  # the root's apt sources: trixie, trixie-updates, trixie-security (+ trixie-backports for 3.44)
  local suites="$LM_SUITE $LM_SUITE-updates"
  [ "$VERSION" = 3.44 ] && suites="$suites $LM_SUITE-backports"
  rm -f "$ROOT/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$MIRROR" "$suites"
    if [ -n "$SECURITY_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$SECURITY_MIRROR" "$LM_SUITE"
    fi
  } > "$ROOT/etc/apt/sources.list.d/debian.sources"
  [ -n "$SECURITY_MIRROR" ] || lm_log "note: the host names no debian-security archive; the root gets no security updates"
}

apt_in_root() { lm_in_root "$ROOT" apt-get -q -o Dpkg::Use-Pty=0 "$@"; }

copy_ca_bundle() {  # pip inside the root needs the host's CA bundle (the root's own may lack a CA the network uses)
  [ -f /etc/ssl/certs/ca-certificates.crt ] || lm_die "the host has no /etc/ssl/certs/ca-certificates.crt to copy into the root"
  mkdir -p "$ROOT/etc/ssl/certs"
  rm -f "$ROOT/etc/ssl/certs/ca-certificates.crt"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
}

if [ "$VERSION" = 3.40 ]; then
  step "host: debootstrap"
  if ! command -v debootstrap >/dev/null; then
    lm_log "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } \
      || lm_die "cannot install debootstrap on the host"
  fi
  [ -e "/usr/share/debootstrap/scripts/$LM_SUITE" ] || lm_die "this debootstrap ($(debootstrap --version)) does not know $LM_SUITE"

  step "debootstrap --variant=minbase $LM_SUITE from $MIRROR"
  debootstrap --variant=minbase --include=ca-certificates "$LM_SUITE" "$ROOT" "$MIRROR"

  step "mount /proc /sys /dev, apt sources"
  lm_mount_system "$ROOT"
  copy_ca_bundle
  write_sources
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"  # no daemons start inside the root
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  printf 'Acquire::Retries "3";\n' > "$ROOT/etc/apt/apt.conf.d/80labelmigration-retries"

  step "apt-get update"
  apt_in_root update

  step "apt-get install (${#LM_APT_PACKAGES[@]} packages, no recommends)"
  apt_in_root install -y --no-install-recommends "${LM_APT_PACKAGES[@]}"
  apt_in_root clean

  step "venv $LM_VENV + pip install -r requirements-trixie.txt"
  copy_ca_bundle
  lm_in_root "$ROOT" /usr/bin/python3 -m venv --system-site-packages "$LM_VENV"
  cp "$LM_MATRIX_DIR/requirements-trixie.txt" "$ROOT/tmp/lm-requirements.txt"
  # Debian's numpy, GDAL, ... are pinned to the installed versions: pip fails rather than replace them.
  lm_in_root "$ROOT" "$LM_VENV/bin/python" - "${LM_PROTECTED_PYTHON[@]}" > "$ROOT/tmp/lm-constraints.txt" <<'EOF'
import importlib.metadata as metadata, sys
for name in sys.argv[1:]:
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
EOF
  lm_log "constraints (Debian's versions): $(tr '\n' ' ' < "$ROOT/tmp/lm-constraints.txt")"
  lm_in_root "$ROOT" "$LM_VENV/bin/pip" install --no-input --disable-pip-version-check --progress-bar off \
    -r /tmp/lm-requirements.txt -c /tmp/lm-constraints.txt
  rm -f "$ROOT/tmp/lm-requirements.txt" "$ROOT/tmp/lm-constraints.txt"
else
  BASE=$(lm_root_dir 3.40)
  step "the QGIS 3.40 root to start from"
  "$0" 3.40
  lm_lock "$BASE" -s 8
  [ -f "$BASE.complete" ] || lm_die "the 3.40 root $BASE is not complete"
  [ -z "$(lm_mounts_under "$BASE")" ] || lm_die "the 3.40 root $BASE has mounts (a test run in the host's namespace?): not copying it"

  step "copy the 3.40 root (cp -a)"
  cp -a "$BASE" "$ROOT"
  find "$ROOT/tmp" -mindepth 1 -delete  # nothing of the 3.40 root's /tmp
  exec 8>&-  # release the 3.40 lock

  step "mount /proc /sys /dev, add trixie-backports"
  lm_mount_system "$ROOT"
  write_sources

  step "apt-get update"
  apt_in_root update

  step "apt-get install -t $LM_SUITE-backports ${LM_BACKPORTS_PACKAGES[*]}"
  apt_in_root install -y --no-install-recommends -t "$LM_SUITE-backports" "${LM_BACKPORTS_PACKAGES[@]}"
  apt_in_root clean
  copy_ca_bundle
fi

step "check the root"
QGIS_VERSION=$(lm_in_root "$ROOT" QT_QPA_PLATFORM=offscreen "$LM_VENV/bin/python" -c \
  'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null | tail -n 1)
lm_log "QGIS in the root: $QGIS_VERSION"
case "$QGIS_VERSION" in
  "$VERSION".*) ;;
  *) lm_die "the root has QGIS '$QGIS_VERSION', not $VERSION" ;;
esac
lm_in_root "$ROOT" QT_QPA_PLATFORM=offscreen PROJ_DATA=/usr/share/proj "$LM_VENV/bin/python" -c '
import sys, numpy, scipy, rasterio, shapely, pyproj
from osgeo import gdal
import qgis.core, onnxruntime, onnx, pystac, pystac_client, blake3, sentinelsat, pytest, pytest_qgis, hypothesis
import ukis_csmask, dask, distributed
print("python", sys.version.split()[0], "| numpy", numpy.__version__, "| scipy", scipy.__version__,
      "| GDAL", gdal.__version__, "| rasterio", rasterio.__version__, "| shapely", shapely.__version__,
      "| onnxruntime", onnxruntime.__version__, "| onnx", onnx.__version__)
for module in (numpy, scipy, rasterio, shapely, pyproj, gdal):
    assert module.__file__.startswith("/usr/lib/python3/"), f"{module.__name__} is not Debian'"'"'s: {module.__file__}"
' || lm_die "the root's Python environment is incomplete (see above)"
shadowing=$(find "$ROOT$LM_VENV"/lib/python3*/site-packages -maxdepth 1 -iname '*.dist-info' -printf '%f\n' \
  | grep -iE "^($(IFS='|'; echo "${LM_PROTECTED_PYTHON[*]}"))-" || true)
[ -z "$shadowing" ] || lm_die "pip installed packages that must come from Debian into $LM_VENV: $shadowing"
lm_in_root "$ROOT" dpkg-query -W -f '${Package} ${Version}\n' qgis python3-qgis python3-numpy python3-gdal \
  | sed 's/^/  /' >&2

step "unmount"
lm_unmount_under "$ROOT" || lm_die "could not unmount everything under $ROOT"
step ""
{
  echo "version=$VERSION"
  echo "qgis_version=$QGIS_VERSION"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build_seconds=$((SECONDS - BUILD_START))"
  echo "mirror=$MIRROR"
  printf 'step: %s\n' "${TIMES[@]}"
  lm_spec "$VERSION"
} > "$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
lm_log "built the QGIS $QGIS_VERSION root $ROOT in $((SECONDS - BUILD_START)) s:"
printf '  %s\n' "${TIMES[@]}" >&2

# shellcheck shell=bash disable=SC2034
# Shared by tools/matrix/build_root.sh and tools/matrix/run_tests.sh (sourced, not run).
#
# A "root" is a Debian 13 "trixie" file system built with debootstrap under $LM_ROOTS_DIR, named
# qgis-<VERSION>-<key>, where key hashes everything that decides its content (suite, packages, pip pins, build
# format). It is complete when <root>.complete exists: build_root.sh writes that stamp last.
#
# Mounts: both scripts re-run themselves in a private mount + PID namespace (unshare) when the kernel allows it,
# so that no mount they make is visible outside and every process they start dies with them; they also unmount
# everything under the root on exit (trap), and safe_remove refuses to delete a root that still has mounts.

LM_ROOTS_DIR=${LM_ROOTS_DIR:-/var/cache/labelmigration/roots}
LM_MATRIX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LM_REPO=$(cd "$LM_MATRIX_DIR/../.." && pwd -P)
LM_SUITE=trixie
LM_VENV=/opt/lm-venv
# Bump when the build steps change in a way the package lists below do not show.
LM_ROOT_FORMAT=1

# Debian packages of every root. The plugin's unit/qgis/cli tiers and the GUI smoke test need: QGIS and its
# Python bindings, GDAL/rasterio/numpy/scipy/shapely/pyproj/Pillow from Debian (one GDAL in the process), Xvfb for
# the desktop, make (cli tier: `make install`), git (tools/package.py lists files with git ls-files),
# pyqt5-dev-tools + qttools5-dev-tools (pylupdate5/lrelease: translation tests, package), e2fsprogs (chattr:
# read-only-folder tests), fonts-open-sans (QGIS >= 3.40 otherwise tries to download Open Sans at start and shows
# "Open Sans font installation failed" in the desktop). Left out on purpose: PostgreSQL, nginx and Chromium (e2e tier and the QA report's PDF).
LM_APT_PACKAGES=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-rasterio python3-numpy
                 python3-scipy python3-shapely python3-pyproj python3-pil python3-venv python3-pip
                 xvfb xauth x11-utils fonts-dejavu-core fonts-open-sans make git pyqt5-dev-tools qttools5-dev-tools e2fsprogs)
# QGIS 3.44: these come from trixie-backports (apt-get install -t trixie-backports), on top of the 3.40 root.
LM_BACKPORTS_PACKAGES=(qgis python3-qgis qgis-providers)
# Python packages pip must never install into the root's venv (Debian's are linked against the root's GDAL/PROJ).
LM_PROTECTED_PYTHON=(numpy scipy GDAL rasterio shapely fiona pyproj)

lm_log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${LM_SCRIPT:-matrix}" "$*" >&2; }
lm_die() { lm_log "ERROR: $*"; exit 1; }

lm_check_version() {
  case "${1:-}" in
    3.40|3.44) ;;
    *) lm_die "unknown QGIS version '${1:-}' (known: 3.40 = Debian 13 trixie, 3.44 = trixie-backports)" ;;
  esac
}

# The text that decides a root's content; its hash is the root's key.
lm_spec() {
  local version=$1
  echo "format=$LM_ROOT_FORMAT suite=$LM_SUITE variant=minbase include=ca-certificates venv=$LM_VENV"
  echo "apt=${LM_APT_PACKAGES[*]}"
  echo "protected=${LM_PROTECTED_PYTHON[*]}"
  echo "pip:"
  grep -v '^\s*#' "$LM_MATRIX_DIR/requirements-trixie.txt" | sed '/^\s*$/d'
  if [ "$version" = 3.44 ]; then
    echo "base=3.40 backports=${LM_BACKPORTS_PACKAGES[*]}"
  fi
}

lm_root_dir() {
  local version=$1 key
  key=$(lm_spec "$version" | sha256sum | cut -c1-12)
  echo "$LM_ROOTS_DIR/qgis-$version-$key"
}

# The Debian archive the host's apt sources name (deb822 .sources first, then one-line sources.list).
# LM_DEBIAN_MIRROR overrides it. $1 = "main" or "security".
lm_host_mirror() {
  local kind=$1 found=""
  if [ "$kind" = main ] && [ -n "${LM_DEBIAN_MIRROR:-}" ]; then echo "$LM_DEBIAN_MIRROR"; return 0; fi
  if [ "$kind" = security ] && [ -n "${LM_DEBIAN_SECURITY_MIRROR:-}" ]; then echo "$LM_DEBIAN_SECURITY_MIRROR"; return 0; fi
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    found=$(awk -v kind="$kind" '
      function flush() { if (uris != "" && suites != "" && (types == "" || types ~ /(^| )deb( |$)/)) {
                           sec = (suites ~ /-security/); if ((kind == "security") == sec && out == "") { split(uris, u, " "); out = u[1] } }
                         uris = ""; suites = ""; types = "" }
      /^[ \t]*$/ { flush(); next }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      END { flush(); print out }' "$file")
    [ -n "$found" ] && break
  done
  if [ -z "$found" ] && [ -f /etc/apt/sources.list ]; then
    found=$(awk -v kind="$kind" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
              sec = ($(i+1) ~ /-security/); if ((kind == "security") == sec) { print $i; exit } }' /etc/apt/sources.list)
  fi
  found=${found%/}
  [ -n "$found" ] || return 1
  echo "$found"
}

# Mount points at or under $1, deepest first (as this mount namespace sees them).
lm_mounts_under() {
  local dir
  dir=$(realpath -m "$1")
  awk -v d="$dir" '{ mp = $5; gsub(/\\040/, " ", mp); if (mp == d || index(mp, d "/") == 1) print mp }' \
    /proc/self/mountinfo | sort -r
}

lm_unmount_under() {
  local dir=$1 mp
  for _ in 1 2 3 4 5; do
    local mounts
    mounts=$(lm_mounts_under "$dir")
    [ -z "$mounts" ] && return 0
    while IFS= read -r mp; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done <<< "$mounts"
  done
  mounts=$(lm_mounts_under "$dir")
  if [ -n "$mounts" ]; then
    lm_log "ERROR: could not unmount under $dir:"; printf '  %s\n' $mounts >&2
    return 1
  fi
}

lm_mount_system() {
  local dir=$1
  mount -t proc proc "$dir/proc"
  mount --rbind /sys "$dir/sys"; mount --make-rslave "$dir/sys"
  mount --rbind /dev "$dir/dev"; mount --make-rslave "$dir/dev"
  if [ -e /etc/resolv.conf ]; then cp -L /etc/resolv.conf "$dir/etc/resolv.conf"; fi
}

# rm -rf a root, only under $LM_ROOTS_DIR and only when nothing is mounted under it (bind mounts of host folders
# would otherwise be emptied).
lm_safe_remove() {
  local dir
  dir=$(realpath -m "$1")
  case "$dir" in
    "$(realpath -m "$LM_ROOTS_DIR")"/qgis-*) ;;
    *) lm_die "refusing to remove $dir: not a root under $LM_ROOTS_DIR" ;;
  esac
  [ -e "$dir" ] || return 0
  lm_unmount_under "$dir" || lm_die "refusing to remove $dir: it still has mounts"
  if [ -n "$(lm_mounts_under "$dir")" ]; then lm_die "refusing to remove $dir: it still has mounts"; fi
  rm -rf --one-file-system "$dir"
}

# Re-run the calling script in a private mount + PID namespace (once). LM_MATRIX_NO_UNSHARE=1 turns this off.
lm_enter_namespace() {
  [ -n "${LM_MATRIX_NS:-}" ] && return 0
  [ "${LM_MATRIX_NO_UNSHARE:-0}" = 1 ] && return 0
  if unshare --mount --propagation private --pid --fork --kill-child true 2>/dev/null; then
    export LM_MATRIX_NS=1
    exec unshare --mount --propagation private --pid --fork --kill-child "$@"
  fi
  lm_log "unshare is not permitted here: mounts are made in the host's mount namespace (unmounted on exit)"
}

# As PID 1 of a PID namespace, bash ignores signals it does not trap.
lm_trap_signals() {
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# Run a command in the root with a clean environment (the host's PIP_*, proxy-less, etc. stay out).
lm_in_root() {
  local dir=$1; shift
  chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# flock on a lock file next to the root; $2 = -s (shared) or -x (exclusive); $3 = file descriptor (default 9).
lm_lock() {
  local dir=$1 mode=$2 fd=${3:-9}
  mkdir -p "$LM_ROOTS_DIR"
  eval "exec $fd>\"\$dir.lock\""
  if ! flock -n "$mode" "$fd"; then
    lm_log "waiting for the lock on $(basename "$dir") (another build or test run uses it)"
    flock "$mode" "$fd"
  fi
}

#!/usr/bin/env bash
# Installs what the e2e tier (tests/e2e) needs for its loopback servers; idempotent and quick
# when everything is there:
#   - Debian: PostgreSQL 15 + PostGIS 3 and nginx (only the missing packages);
#   - .venv-stac: a venv of its own (no system site packages, so it cannot disturb the plugin's
#     .venv or Debian's Python) with stac-fastapi-pgstac, pypgstac and uvicorn pinned in
#     requirements-stac-server.txt.
# No service is started: the tests run their own throwaway PostgreSQL cluster, uvicorn and nginx
# on 127.0.0.1 and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(postgresql postgresql-15-postgis-3 nginx-light)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  # The tests never use the package's default cluster: don't let a fresh install create one.
  if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q "install ok installed"; then
    $sudo_cmd mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $sudo_cmd tee /etc/postgresql-common/createcluster.d/50-labelmigration-e2e.conf >/dev/null
  fi
  # Keep the packages' maintainer scripts from starting postgresql or nginx (on port 80)
  # system-wide: a policy-rc.d answering 101 ("action forbidden") for the time of the install.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  trap '[ -z "$policy_added" ] || $sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  # apt-get update only when the package lists don't know a package yet.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" \
    || { $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
           --no-install-recommends "${missing[@]}"; }
fi

venv=.venv-stac
requirements=requirements-stac-server.txt
stamp="$venv/.requirements-installed"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "Installing the STAC API server into $venv"
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
echo '*' > "$venv/.gitignore"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  -r "$requirements" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
cp "$requirements" "$stamp"

#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing (quick when all are there).
set -euo pipefail
packages=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-rasterio python3-geopandas
          python3-venv python3-pip python3-scipy xvfb xauth x11-utils chromium
          pyqt5-dev-tools qttools5-dev-tools)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Install the Debian/Ubuntu packages listed in scripts/system-packages.txt that are missing.
# As root with apt-get: installs them. Otherwise: prints the exact apt-get line and fails,
# so a fresh machine never runs the tests with real parts silently missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t wanted < <(grep -v '^\s*#' scripts/system-packages.txt | grep -v '^\s*$')
if ! command -v dpkg-query >/dev/null; then
  echo "system packages: not a Debian/Ubuntu system; install the equivalents of:" >&2
  echo "  ${wanted[*]}" >&2
  exit 1
fi
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system packages missing; as root, run:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

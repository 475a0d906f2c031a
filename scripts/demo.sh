#!/usr/bin/env bash
# Quick start (1): install Halong, generate the built-in demo studies and open the app on them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec halong demo "$@"

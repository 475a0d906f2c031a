#!/usr/bin/env bash
# Quick start (2): install Halong with its test tools, then run every check CI runs:
# ruff (lint + format), import-linter layering contracts, and the whole pytest suite
# (GUI tests run on a virtual X display through pytest-xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HALONG_HOME=${HALONG_HOME:-$(mktemp -d)}
echo "== ruff"; ruff check . && ruff format --check .
echo "== import-linter"; lint-imports
echo "== pytest"; python -m pytest "$@"

#!/usr/bin/env bash
# Install the system packages (scripts/system-packages.txt), then create (or update) the
# project's virtual environment in .venv and install Halong into it.
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh  # Xvfb, dcmtk, dicom3tools, poppler, Orthanc, ...
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# torch first, pinned to the CPU build that lies on this workplace's disk (see README);
# set HALONG_TORCH to install another build, e.g. HALONG_TORCH="torch" for a CUDA build.
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install --quiet "${HALONG_TORCH:-torch==2.13.0}"
fi
python -m pip install --quiet -e ".[test]"

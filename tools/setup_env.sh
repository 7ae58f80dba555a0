#!/usr/bin/env bash
# Create or update the project's virtual environment with the pinned OpenMMLab
# stack (requirements/constraints.txt), at one of two levels:
#
#   bash tools/setup_env.sh          default: ConMIM pre-training, the demo, the
#                                    converters and analysis tools, ImageNet
#                                    fine-tuning / linear probing; mmcv-lite
#                                    (mmcv's Python code, no compiled ops)
#   bash tools/setup_env.sh --full   adds mmsegmentation, mmdet and mmcv with
#                                    compiled ops (ADE20K and COCO configs);
#                                    replaces mmcv-lite in place
#
# Idempotent: a second run checks what is installed and returns in seconds. A
# default run in a full environment keeps it full. The built mmcv wheel is
# cached (CONMIM_CACHE, default ~/.cache/conmim_mm) and reused, so mmcv is
# compiled once per torch build.
#
# Environment:
#   PYTHON        interpreter used to create the venv (default: python3.11)
#   CONMIM_VENV   venv location (default: <repo>/.venv)
#   CONMIM_CACHE  cache of built wheels (default: ${XDG_CACHE_HOME:-~/.cache}/conmim_mm)
#   FORCE_CUDA=1  build mmcv's CUDA ops (needs nvcc matching torch's CUDA)
#   MAX_JOBS      parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${CONMIM_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3.11}
CONSTRAINTS=$ROOT/requirements/constraints.txt
CACHE=${CONMIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/conmim_mm}
VPY=$VENV/bin/python

case "${1:-}" in
  "") LEVEL=default ;;
  --full) LEVEL=full ;;
  *) echo "usage: $0 [--full]" >&2; exit 2 ;;
esac

log() { echo "[setup_env] $*"; }
die() { echo "[setup_env] error: $*" >&2; exit 1; }
# (the filter drops pip's notes about local index folders that do not exist)
pip_install() {
  "$VPY" -m pip install --disable-pip-version-check -q "$@" \
    2> >(grep -v 'is neither a file nor a directory' >&2)
}

# Everything that decides the environment's content; a change re-runs the install.
fingerprint() {
  cat "$CONSTRAINTS" "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}"
  echo "FORCE_CUDA=${FORCE_CUDA:-0}"
}
DEFAULT_IMPORTS="import torch, torchvision, mmcv, mmengine, mmpretrain, conmim_mm"
FULL_IMPORTS="$DEFAULT_IMPORTS, mmcv.ops, mmseg, mmdet"
# up_to_date LEVEL: the last complete run at LEVEL saw today's fingerprint
# and the level's stack imports.
up_to_date() {
  local stamp=$VENV/.conmim_setup_$1 imports=DEFAULT_IMPORTS
  [[ $1 == full ]] && imports=FULL_IMPORTS
  [[ -f $stamp ]] && cmp -s <(fingerprint) "$stamp" &&
    "$VPY" -c "${!imports}" 2>/dev/null
}

# ---------------------------------------------------------------- venv
if [[ ! -x $VPY ]]; then
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found; set PYTHON=/path/to/python3.11"
  log "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Fast path: nothing changed since the last complete run (a full environment
# serves the default level too).
if up_to_date full || { [[ $LEVEL == default ]] && up_to_date default; }; then
  log "environment at $VENV is up to date ($([[ -f $VENV/.conmim_setup_full ]] && echo full || echo default))"
  exit 0
fi
has_dist() { "$VPY" -m pip show -q "$1" >/dev/null 2>&1; }
# A full environment (mmcv with compiled ops) stays full when the default
# level is asked for.
if [[ -f $VENV/.conmim_setup_full ]] || has_dist mmcv; then LEVEL=full; fi
log "setting up the $LEVEL environment at $VENV"
rm -f "$VENV"/.conmim_setup_default "$VENV"/.conmim_setup_full

# setuptools < 81: mmengine 0.10.7 imports pkg_resources to resolve
# `mmpretrain::` / `mmseg::` / `mmdet::` base configs (removed in setuptools 82).
pip_install -c "$CONSTRAINTS" --upgrade pip setuptools wheel

# ---------------------------------------------------------------- torch
# Keep a torch the user already installed into the venv (e.g. another CUDA
# build) when it is recent enough; otherwise install the pinned one.
CONSTRAINTS_EFFECTIVE=$CONSTRAINTS
if "$VPY" -c "import torch, torchvision, sys; v = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(0 if v >= (2, 1) else 1)" 2>/dev/null; then
  TORCH_VERSION=$("$VPY" -c "import torch; print(torch.__version__)")
  if ! grep -q "^torch==${TORCH_VERSION%%+*}\$" "$CONSTRAINTS"; then
    log "keeping the installed torch $TORCH_VERSION (not the pinned one)"
    CONSTRAINTS_EFFECTIVE=$VENV/.constraints_without_torch.txt
    grep -v -E '^(torch|torchvision)==' "$CONSTRAINTS" > "$CONSTRAINTS_EFFECTIVE"
  fi
else
  log "installing torch and torchvision (pinned)"
  pip_install -c "$CONSTRAINTS" torch torchvision
fi
TORCH_VERSION=$("$VPY" -c "import torch; print(torch.__version__)")

# numpy < 2 before anything that compiles or imports against it: numpy 2 makes
# mmcv 2.1.0's adjust_hue raise OverflowError (the ConMIM key view uses hue 0.1).
pip_install -c "$CONSTRAINTS_EFFECTIVE" numpy

# ---------------------------------------------------------------- mmcv
# mmcv-lite and mmcv install the same `mmcv` package (mmcv adds the compiled
# mmcv._ext), so only one of the two may be installed at a time.
mmcv_ops_ok() {
  "$VPY" - <<'PY' 2>/dev/null
import mmcv, mmcv.ops  # mmcv.ops imports the compiled mmcv._ext
assert mmcv.__version__ == '2.1.0', mmcv.__version__
PY
}

if [[ $LEVEL == default ]]; then
  log "installing mmcv-lite (no compiled ops)"
  pip_install -c "$CONSTRAINTS_EFFECTIVE" mmcv-lite
  EXTRAS=tests,lite
else
  # PyPI has only the mmcv 2.1.0 sdist. Its setup.py passes -std=c++17 to the
  # C++ compiler, but torch >= 2.10 headers refuse anything older than C++20
  # (`#error C++20 or later compatible compiler is required`), so the unpacked
  # sdist is patched to -std=c++20 and built with --no-build-isolation against
  # the torch installed above. The wheel is cached per torch build.
  if has_dist mmcv-lite; then
    log "removing mmcv-lite (mmcv with compiled ops replaces it)"
    "$VPY" -m pip uninstall -y -q mmcv-lite
  fi
  if ! mmcv_ops_ok; then
    WHEEL_DIR=$CACHE/wheels/torch-$TORCH_VERSION$([[ ${FORCE_CUDA:-0} == 1 ]] && echo -cuda || true)
    WHEEL=$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
    if [[ -z $WHEEL ]]; then
      pip_install -c "$CONSTRAINTS_EFFECTIVE" ninja
      BUILD=$(mktemp -d)
      trap 'rm -rf "$BUILD"' EXIT
      log "downloading the mmcv 2.1.0 sdist"
      "$VPY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
        -d "$BUILD" mmcv==2.1.0
      tar -xzf "$BUILD"/mmcv-2.1.0.tar.gz -C "$BUILD"
      SRC=$BUILD/mmcv-2.1.0
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
      grep -q -- '-std=c++20' "$SRC/setup.py" || die "could not patch mmcv's C++ standard flag"
      log "building mmcv 2.1.0 with ops against torch $TORCH_VERSION (15-30 min on 2 cores)"
      start=$SECONDS
      if ! MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
          "$VPY" -m pip wheel --no-deps --no-build-isolation -w "$BUILD/dist" "$SRC" \
          > "$BUILD/build.log" 2>&1; then
        tail -n 60 "$BUILD/build.log" >&2
        die "building mmcv failed (last lines of the build log above)"
      fi
      mkdir -p "$WHEEL_DIR"
      cp "$BUILD"/dist/mmcv-2.1.0-*.whl "$WHEEL_DIR"/
      log "mmcv built in $((SECONDS - start)) s, cached in $WHEEL_DIR"
      WHEEL=$(ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl | head -n 1)
    else
      log "reusing the cached mmcv wheel $WHEEL"
    fi
    # --force-reinstall: the files mmcv-lite shared with it were just removed
    pip_install -c "$CONSTRAINTS_EFFECTIVE" --force-reinstall --no-deps "$WHEEL"
  fi
  EXTRAS=tests,full,benchmark
fi

# ---------------------------------------------------------------- the rest
log "installing mmengine, mmpretrain$([[ $LEVEL == full ]] && echo ', mmsegmentation, mmdet'), conmim_mm and test tools"
pip_install -c "$CONSTRAINTS_EFFECTIVE" -e "$ROOT[$EXTRAS]"
if [[ $LEVEL == full ]]; then
  mmcv_ops_ok || die "mmcv with compiled ops does not import after installation"
fi

# The environment check (a few seconds): conmim_mm imports; the installed
# OpenMMLab packages and numpy are the pinned versions (torch may be the user's
# own, see above); their models import and register; mmengine resolves their
# base configs (`mmpretrain::`, `mmseg::`, `mmdet::`, through pkg_resources:
# the setuptools pin); on the full level mmcv's compiled nms and RoIAlign
# compute the right numbers.
check_environment() {
  "$VPY" -W "ignore:pkg_resources is deprecated:UserWarning" - "$LEVEL" \
    "$CONSTRAINTS" <<'PY'
import os.path as osp
import sys
import tempfile

import conmim_mm  # noqa: F401

level, constraints = sys.argv[1:]
pins = {}
with open(constraints) as f:
    for line in f:
        line = line.split('#')[0].strip()
        if '==' in line:
            name, version = line.split('==')
            pins[name.lower()] = version

import mmcv, mmengine, mmpretrain, numpy
installed = {'mmcv' if level == 'full' else 'mmcv-lite': mmcv.__version__,
             'mmengine': mmengine.__version__,
             'mmpretrain': mmpretrain.__version__, 'numpy': numpy.__version__}
scopes = {'mmpretrain': 'BEiTPretrainViT'}
if level == 'full':
    import mmdet, mmseg
    installed.update(mmsegmentation=mmseg.__version__, mmdet=mmdet.__version__)
    scopes.update(mmseg='UPerHead', mmdet='MaskRCNN')
wrong = [f'{name} {version} (pinned: {pins[name]})'
         for name, version in installed.items() if version != pins[name]]
if wrong:
    sys.exit('not the pinned versions: ' + ', '.join(wrong))

import importlib
from mmengine.config import Config
with tempfile.TemporaryDirectory() as folder:
    for scope, model in scopes.items():
        importlib.import_module(f'{scope}.models')
        registry = importlib.import_module(f'{scope}.registry').MODELS
        if registry.get(model) is None:
            sys.exit(f'{scope} does not register {model}')
        path = osp.join(folder, f'{scope}.py')
        with open(path, 'w') as f:
            f.write(f"_base_ = '{scope}::_base_/default_runtime.py'\n")
        if Config.fromfile(path).default_scope != scope:
            sys.exit(f'the base config {scope}::_base_/default_runtime.py '
                     'does not load')

if level == 'full':
    import torch
    from mmcv.ops import nms, roi_align
    # IoU(box 0, box 1) = 81 / 119 = 0.68: box 1 goes at 0.5, stays at 0.7
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept = [nms(boxes, scores, iou_threshold=t)[1].tolist()
            for t in (0.5, 0.7)]
    if kept != [[0, 2], [0, 1, 2]]:
        sys.exit(f"mmcv's nms keeps {kept}, not [[0, 2], [0, 1, 2]]")
    # bilinear sampling of f(y, x) = x is exact: the aligned box [0.5, 4.5]
    # in 2 x 2 bins samples x = 1, 2 | 3, 4, so the bins average 1.5 | 3.5
    feat = torch.arange(8.).repeat(8, 1)[None, None].requires_grad_()
    rois = torch.tensor([[0., 1., 1., 5., 5.]])
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    out.sum().backward()
    expected = torch.tensor([[1.5, 3.5], [1.5, 3.5]])
    if not (torch.allclose(out[0, 0], expected, atol=1e-6) and
            abs(feat.grad.sum().item() - 4.0) < 1e-6):
        sys.exit(f"mmcv's roi_align gives {out[0, 0].tolist()}, not "
                 f'{expected.tolist()}')
PY
}
check_environment || die "the environment check failed (the line above)"

fingerprint > "$VENV/.conmim_setup_$LEVEL"
log "done ($LEVEL): use $VPY"

#!/bin/bash
# The GPU measurements of issue 24 in one go, on a machine without a network
# (../shared/notes/gpu-device.md has the recipe this follows).
#
#   bash benchmarks/gpu_run.sh prepare   # here, with PyPI: the wheels into build/gpu/wheels
#   OUT=DIR bash benchmarks/gpu_run.sh   # there, from the repository root: tables and logs in OUT
#   SMOKE=1 ... bash benchmarks/gpu_run.sh   # the same steps on the tiny model on a CPU
#
# Env: OUT (results, default /tmp/gpu-out), WHEELS (default build/gpu/wheels), PY (python3),
# PIP (default "$PY -m pip"), PYVER (the GPU machine's Python for prepare, default 3.12),
# SIZES ("3b 7b"). Each sub-run has its own timeout, so one hang does not cost the rest.
set -u
OUT=${OUT:-/tmp/gpu-out}; WHEELS=${WHEELS:-build/gpu/wheels}; PY=${PY:-python3}; PIP=${PIP:-"$PY -m pip"}
SITE=/tmp/qvl-site; PKG=/tmp/qvl-pkg

if [ "${1:-}" = prepare ]; then
  # What the benchmark imports beyond the machine's torch (and its numpy, pillow, safetensors'
  # peers), at the versions installed here (found with python -X importtime).
  wanted=""
  for d in transformers huggingface_hub tokenizers httpx2 httpcore2 kernels click hf-xet truststore \
           tomlkit typer pydantic pydantic_core annotated-types typing-inspection typing_extensions \
           isal qwen-vl-utils safetensors regex h11 anyio idna; do
    wanted="$wanted $d==$($PY -c "import importlib.metadata as m; print(m.version('$d'))")"
  done
  mkdir -p "$WHEELS"
  $PIP download -q --no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$WHEELS" $wanted
  ls "$WHEELS"; du -sh "$WHEELS"
  exit
fi

mkdir -p "$OUT"
started=$(date +%s)
stamp() { echo "[$(( $(date +%s) - started ))s] $*"; }

{ nvidia-smi 2>&1 | head -15
  "$PY" -c "import sys, torch; print(sys.version); print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  "$PY" -c "import torchvision; print('torchvision', torchvision.__version__)" 2>&1 | tail -1
  "$PY" -c "import transformers; print('machine transformers', transformers.__version__)" 2>&1 | tail -1
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

rm -rf "$SITE" "$PKG"
$PIP install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl > "$OUT/pip.log" 2>&1
stamp "wheels installed (rc=$?)"
# qvl_agent's subpackages are the repository's top folders (pyproject's package-dir)
mkdir -p "$PKG/qvl_agent"
cp qvl_agent/*.py qvl_agent/py.typed "$PKG/qvl_agent/"
for d in agent envs model tasks eval cli; do ln -sfn "$PWD/$d" "$PKG/qvl_agent/$d"; done
export PYTHONPATH="$SITE:$PKG" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# (from /tmp: in the repository root its qvl_agent/ folder, without the subpackages, would shadow)
(cd /tmp && "$PY" -c "import transformers, qvl_agent.model.transformers_backend as b
print('using transformers', transformers.__version__, 'from', transformers.__file__); print('qvl_agent from', b.__file__)") \
  2>&1 | tee -a "$OUT/env.txt"

bench() {  # NAME LIMIT ARGS...: one sub-run of gpu_step.py with its own timeout; its table printed
  local name=$1 limit=$2; shift 2
  stamp "start $name"
  timeout "$limit" "$PY" benchmarks/gpu_step.py "$@" > "$OUT/$name.txt" 2> "$OUT/$name.log"
  echo "rc=$?" >> "$OUT/$name.txt"
  stamp "end $name"; cat "$OUT/$name.txt"; grep -v "Writing\|Loading" "$OUT/$name.log" | tail -8
}

probe() {  # SIZE LIMIT: why the old prefix option decoded slower
  stamp "start prefix probe"
  timeout "$2" "$PY" benchmarks/prefix_probe.py "$1" > "$OUT/prefix_probe.txt" 2>&1; echo "probe rc=$?"
  grep -v "Writing\|Loading\|USDT\|ERROR" "$OUT/prefix_probe.txt" | tail -6
}

if [ "${SMOKE:-0}" = 1 ]; then
  bench tiny 600 --size tiny --device cpu --runs 1 --warmup 0 --answer-tokens 4 \
    --variants none,graphs,compile,prefix-cache --max-pixels 200704 --profile
  probe tiny 300
  exit 0
fi

for size in ${SIZES:-3b 7b}; do
  case $size in
    3b) bench 3b 210 --size 3b --variants none,graphs,compile,prefix-cache --profile ;;
    7b) bench 7b 170 --size 7b --variants none,graphs,prefix-cache --max-pixels 1003520 ;;
  esac
done
probe 3b 50
stamp done

#!/bin/bash
# Train source models side by side on a lent GPU machine (device tool), from the repo root:
#   bash models/train/gpu/run.sh DEADLINE_S [NAME_REGEX] [PACKED_DIR]
# Needs the pack.py output (default .gpu-data) carried with the call. Unpacks the data, starts
# the runs of RUNS below whose names match NAME_REGEX (default: all) in the background (a run
# folder carried in .gpu-runs/<name>, i.e. a collected tar unpacked, resumes), copies them to
# $OUT (collect.py) every 30 s, and at DEADLINE_S stops what is still training so the call ends
# inside its limit; unfinished CIFAR-10 runs come back resumable (same command here). Runs are
# chosen afterwards on val (CamVid) or on the training budget alone (CIFAR-10: no val split).
set -u
deadline=${1:?deadline in seconds}
only=${2:-.}
packed=${3:-.gpu-data}
start=$(date +%s)
out=${OUT:?OUT is set by the device tool}
runs=/tmp/runs
mkdir -p $runs
exec > >(tee -a "$out/run.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
python3 models/train/gpu/unpack.py --packed "$packed" --out /tmp/data || exit 1
echo "unpacked in $(( $(date +%s) - start )) s"

C="python3 models/train/train_cifar10.py --data /tmp/data/cifar10 --device cuda"
V="python3 models/train/train_camvid.py --data /tmp/data/camvid --device cuda --threads 2 --weight-c 1.02 --context 2,4,8 --jitter 2 --saturation 0.4"
RUNS=(
  "$C --run $runs/cifar10-resnet26x2 --widths 32,64,128"
  "$C --run $runs/cifar10-resnet26x3 --widths 48,96,192"
  "$C --run $runs/cifar10-resnet26x4 --widths 64,128,256"
  "$C --run $runs/cifar10-resnet26x2-cutout --widths 32,64,128 --cutout 16 --compile"
  "$V --run $runs/camvid-unet-wide --widths 24,48,96,192 --epochs 120"
  "$V --run $runs/camvid-unet-wide-e240 --widths 24,48,96,192 --epochs 240"
  "$V --run $runs/camvid-unet-wide-s1 --widths 24,48,96,192 --epochs 120 --seed 1"
  "$V --run $runs/camvid-unet-ctxj-e240 --epochs 240"
)
pids=()
for r in "${RUNS[@]}"; do
  name=$(echo "$r" | sed 's/.*--run [^ ]*\/\([^ ]*\).*/\1/')
  [[ $name =~ $only ]] || continue
  [ -d ".gpu-runs/$name" ] && cp -r ".gpu-runs/$name" $runs/ && echo "resuming $name"
  $r > "$runs/$name.stdout" 2>&1 &
  pids+=($!)
done

alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while alive && (( $(date +%s) - start < deadline )); do
  sleep 30
  python3 models/train/gpu/collect.py --runs $runs --out "$out"
  echo "--- $(( $(date +%s) - start )) s"; for f in $runs/*/train.log; do echo "$(basename $(dirname $f)): $(tail -1 $f)"; done
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
wait "${pids[@]}"  # not a bare wait: that would also wait for the tee above
python3 models/train/gpu/collect.py --runs $runs --out "$out"
for f in $runs/*.stdout; do [ -s "$f" ] && { echo "== $f"; tail -5 "$f"; }; done
echo "=== final after $(( $(date +%s) - start )) s"
for f in $runs/*/train.log; do echo "$(basename $(dirname $f)): $(grep -E 'test_acc|best' $f | tail -1)"; echo "   last: $(tail -1 $f)"; done
ls -la "$out"

#!/usr/bin/env bash
# The GPU path, measured in one run (issues 23 and 33): builds nothing. It installs the wheel
# `make wheel` built beside the machine's own torch (pip --no-deps: no registry there,
# nothing compiled), takes a CIFAR-10-shaped data set (scripts/make-gpu-check-data.py), and writes
# every figure as JSON, with a log, into OUT.
#
#   scripts/gpu-check.sh WHEEL DATA_DIR OUT [DEVICE]      (DEVICE: cuda by default; cpu tries the
#                                                          script itself on a machine without one)
#
# What it measures, each with the installed worker's own requests:
#   libtorch which libtorch the worker opened (the torch package's, CUDA build included).
#   parity   the same 2 training steps (512 images, batch 256, PGD-7) on CPU and on DEVICE: the
#            loss of the step; then the CPU-trained weights evaluated on both (clean, PGD-20 at
#            8/255, AutoAttack standard at 8/255, 200 images): the counts must agree within 1 %;
#            and the same weights under PyTorch's references on DEVICE (scripts/gpu-parity.py:
#            tests/python's TinyNetwork, torchattacks' PGD-20 and AutoAttack standard; needs the
#            torchattacks wheel carried along, else it is skipped and says so).
#   speed    one epoch of the paper's step (PGD-7, batch 256) over the data set's training images,
#            fp32 and bf16, 1, 3 and 6 runs fused into one network and 3 runs one after another:
#            images per second, seconds per 50,000-image epoch, 50-epoch runs per GPU-hour
#            (evaluation on 10,000 images with the paper's 5 attacks added), peak GPU memory.
# Channels-last and cudnn's autotuner are the worker's own choices per device, not switches, so
# they are in every figure rather than measured apart; the profiler split of kernel against wall
# time is not measured (the worker has no profiler hook).
set -euo pipefail
wheel=$(realpath "${1:?usage: gpu-check.sh WHEEL DATA_DIR OUT [DEVICE]}")
data=$(realpath "${2:?usage: gpu-check.sh WHEEL DATA_DIR OUT [DEVICE]}")
out=$(realpath -m "${3:?usage: gpu-check.sh WHEEL DATA_DIR OUT [DEVICE]}")
device=${4:-cuda}
arch=${GPU_CHECK_ARCH:-2581}
# Images of the parity evaluations (a dry run on CPU takes fewer).
n_eval=${GPU_CHECK_N_EVAL:-200}
here=$(dirname "$(realpath "$0")")
mkdir -p "$out/runs"
log="$out/log.txt"
exec > >(tee -a "$log") 2>&1

# The wheel beside the machine's own packages (torch, pyarrow, tqdm), for the python3 that holds
# them: a folder on PYTHONPATH, as `pip install --target` makes it.
site=${TMPDIR:-/tmp}/robbench-gpu-site
rm -rf "$site"
python3 -m pip install --quiet --no-deps --no-index --no-compile --target "$site" "$wheel"
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
worker=$site/bin/robbench-worker
echo "== $(date -u +%FT%TZ) wheel $(basename "$wheel") worker $("$worker" --version) device $device arch $arch"
# The dynamic loader's account of the libtorch the worker opened.
LD_DEBUG=libs "$worker" --version 2>&1 >/dev/null | grep -o 'calling init: .*lib\(torch\|c10\)[a-z_]*\.so' | sort -u | tee "$out/libtorch.txt"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.csv"

# Peak GPU memory of a command: nvidia-smi sampled every 200 ms while it runs.
peak_memory() {
    local file=$1; shift
    if command -v nvidia-smi >/dev/null; then
        (while sleep 0.2; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; done) > "$file" &
        local sampler=$!
        "$@"; local rc=$?
        kill "$sampler" 2>/dev/null || true
        return $rc
    fi
    "$@"
}

train() { # NAME ARGS...: a train request; its results under runs/NAME*
    local name=$1; shift
    echo "== train $name: $*"
    local t0=$(date +%s.%N)
    peak_memory "$out/runs/$name.memory" "$worker" train --arch "$arch" --dataset cifar10 --data-dir "$data" --label "$name" "$@"
    echo "   $name took $(echo "$(date +%s.%N) - $t0" | bc) s"
}

n_train=$(python3 -c "import os; d='$data/cifar-10-batches-bin'; print(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith('data_batch')) // 3073)")

# Parity: two steps on each device, then the CPU weights evaluated on both.
common=(--epochs 1 --n-train 512 --batch-size 256 --n-eval "$n_eval" --attacks clean,pgd8,aa8 --fuse false)
train parity-cpu --device cpu --run-dir "$out/runs/parity-cpu" "${common[@]}"
train parity-dev --device "$device" --run-dir "$out/runs/parity-dev" "${common[@]}"
weights=$(python3 -c "import json; print(json.load(open('$out/runs/parity-cpu/result.json'))['checkpoint'])")
for side in cpu device; do
    d=$([ "$side" = cpu ] && echo cpu || echo "$device")
    echo "== evaluate the CPU-trained weights on $d"
    "$worker" evaluate --arch "$arch" --dataset cifar10 --data-dir "$data" --device "$d" \
        --checkpoint "$weights" --n-eval "$n_eval" --attacks clean,pgd8,aa8 \
        --out "$out/runs/parity-eval-$side.json"
done

# The same weights under PyTorch's references on the device.
cell=$("$site/bin/robbench" --read-only --mode line -c "SELECT arch_str($arch) AS cell" | sed -n 's/^ *cell = //p')
if python3 -c "import torchattacks" 2>/dev/null; then
    echo "== PyTorch references on $device"
    python3 "$here/gpu-parity.py" "$weights" "$cell" "$data" "$n_eval" "$device" | tee "$out/runs/parity-pytorch.json"
else
    echo "== PyTorch references skipped: torchattacks is not installed (carry its wheel)"
fi

# Speed: one epoch over the training images, per arithmetic and number of runs.
runs_of() { seq -s, 0 $(($1 - 1)); }
dirs_of() { local k=$1 name=$2; local d=(); for s in $(seq 0 $((k - 1))); do d+=("$out/runs/$name-s$s"); done; (IFS=,; echo "${d[*]}"); }
for dtype in fp32 bf16; do
    for k in 1 3 6; do
        name="speed-$dtype-fused$k"
        train "$name" --device "$device" --dtype "$dtype" --epochs 1 --batch-size 256 --n-eval 256 --attacks clean \
            --seed "$(runs_of $k)" --run-dir "$(dirs_of $k "$name")" --fuse true
    done
    name="speed-$dtype-apart3"
    for s in 0 1 2; do
        train "$name-s$s" --device "$device" --dtype "$dtype" --epochs 1 --batch-size 256 --n-eval 256 --attacks clean \
            --seed "$s" --run-dir "$out/runs/$name-s$s" --fuse false
    done
done
# The paper's evaluation (5 attacks on 10,000 images; here on the test split's 1,000, scaled).
train eval-fp32 --device "$device" --epochs 1 --n-train 256 --batch-size 256 --attacks clean,fgsm3,fgsm8,pgd3,pgd8 --run-dir "$out/runs/eval-fp32"

python3 - "$out" "$n_train" <<'PY'
import glob, json, os, sys
out, n_train = sys.argv[1], int(sys.argv[2])
runs = os.path.join(out, "runs")
def result(path):
    with open(path) as f:
        return json.load(f)
def peak(name):
    try:
        vals = [int(l) for l in open(os.path.join(runs, name + ".memory")) if l.strip().isdigit()]
        return max(vals) if vals else None
    except OSError:
        return None
summary = {"n_train": n_train}
cpu, dev = result(os.path.join(runs, "parity-cpu/result.json")), result(os.path.join(runs, "parity-dev/result.json"))
# A curve entry is (epoch, lr, train_loss, train_adv_acc, seconds).
loss = (cpu["curves"][0][2], dev["curves"][0][2])
ev = {side: result(os.path.join(runs, f"parity-eval-{side}.json")) for side in ("cpu", "device")}
names = list(ev)
counts = {d: {a: round(v * ev[d]["n_eval"]) for a, v in ev[d]["metrics"].items()} for d in names}
agree = all(abs(counts[names[0]][a] - counts[names[1]][a]) <= max(2, 0.01 * ev[names[0]]["n_eval"]) for a in counts[names[0]])
summary["parity"] = {
    "train_loss_cpu": loss[0], "train_loss_device": loss[1],
    "train_loss_relative_difference": abs(loss[0] - loss[1]) / abs(loss[0]),
    "eval_counts": counts, "eval_counts_agree_within_1_percent": agree,
}
ref_path = os.path.join(runs, "parity-pytorch.json")
if os.path.exists(ref_path):
    ref = result(ref_path)
    ours = counts["device"]
    summary["parity"]["pytorch_counts_on_device"] = ref
    summary["parity"]["pytorch_agrees_within_1_percent"] = all(
        abs(ours[a] - ref[a]) <= max(2, 0.01 * ref["n_eval"]) for a in ("clean", "pgd8", "aa8"))
summary["libtorch"] = open(os.path.join(out, "libtorch.txt")).read().split("\n")
speed = {}
for name in sorted({os.path.basename(p).rsplit("-s", 1)[0] for p in glob.glob(os.path.join(runs, "speed-*-s*"))}):
    members = sorted(glob.glob(os.path.join(runs, name + "-s*/result.json")))
    rs = [result(p) for p in members]
    # Runs trained together each record their share of the group's time: the sum is the
    # wall time either way.
    seconds = sum(r["train_seconds"] for r in rs)
    images = n_train * len(rs)
    per_epoch_50k = seconds / n_train * 50_000 / len(rs)
    speed[name] = {"runs": len(rs), "train_seconds": seconds, "images_per_second": images / seconds,
                   "seconds_per_50k_epoch_per_run": per_epoch_50k,
                   "peak_gpu_memory_mib": peak(name) or max(filter(None, [peak(f"{name}-s{i}") for i in range(len(rs))]), default=None),
                   "device": rs[0]["device"]}
evr = result(os.path.join(runs, "eval-fp32/result.json"))
eval_per_10k = evr["eval_seconds"] / evr["n_eval"] * 10_000
for s in speed.values():
    run_seconds = 50 * s["seconds_per_50k_epoch_per_run"] + eval_per_10k
    s["seconds_per_50_epoch_run"] = run_seconds
    s["runs_per_gpu_hour"] = 3600 / run_seconds
summary["speed"] = speed
summary["eval_seconds_per_10k_images_5_attacks"] = eval_per_10k
best = min(speed.values(), key=lambda s: s["seconds_per_50_epoch_run"])
summary["best_seconds_per_50_epoch_run"] = best["seconds_per_50_epoch_run"]
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
print(json.dumps(summary, indent=1))
PY
echo "== done $(date -u +%FT%TZ)"

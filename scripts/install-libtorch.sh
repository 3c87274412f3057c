#!/usr/bin/env bash
# Installs libtorch 2.11.0 from the PyPI torch wheel (the version tch 0.24 is built against).
#
#   install-libtorch.sh cpu DIR   CPU-only folder: headers, libc10, libtorch_cpu, libgomp, and the two
#                                 small CUDA runtime libraries libtorch_cpu is linked against (cudart,
#                                 cupti), plus a libtorch.so linker script. Avoids ~4 GB of NVIDIA wheels.
#   install-libtorch.sh cuda DIR  the wheel's whole torch/lib (libtorch_cuda included) for a build that
#                                 runs on a GPU machine; the CUDA libraries themselves come from the
#                                 torch install there.
# Idempotent: a finished DIR carries a .complete marker and is left alone.
set -euo pipefail
flavour=${1:?usage: install-libtorch.sh cpu|cuda DIR}
dir=${2:?usage: install-libtorch.sh cpu|cuda DIR}
TORCH_VERSION=2.11.0
CUDART=nvidia-cuda-runtime==13.0.96
CUPTI=nvidia-cuda-cupti==13.0.85

[ -f "$dir/.complete" ] && exit 0
case "$flavour" in cpu|cuda) ;; *) echo "install-libtorch.sh: unknown flavour '$flavour' (cpu or cuda)" >&2; exit 2;; esac

wheels=${ROBBENCH_CACHE:-$HOME/.cache/robbench}/wheels
mkdir -p "$wheels"
# The platform flags make the download independent of the local Python's version.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 --platform manylinux_2_17_x86_64 \
    -d "$wheels" "torch==$TORCH_VERSION" "$CUDART" "$CUPTI"

tmp="$dir.partial"
rm -rf "$tmp"
mkdir -p "$tmp/lib"
torch_whl=$(ls "$wheels"/torch-$TORCH_VERSION-*.whl | head -n 1)
if [ "$flavour" = cpu ]; then
    unzip -q "$torch_whl" 'torch/include/*' torch/lib/libc10.so torch/lib/libtorch_cpu.so torch/lib/libgomp.so.1 -d "$tmp/x"
    # tch links -ltorch; a linker script makes that mean libtorch_cpu without the CUDA half.
    echo 'INPUT(-ltorch_cpu)' > "$tmp/lib/libtorch.so"
else
    unzip -q "$torch_whl" 'torch/include/*' 'torch/lib/*' -d "$tmp/x"
fi
mv "$tmp/x/torch/include" "$tmp/include"
mv "$tmp/x/torch/lib/"* "$tmp/lib/"
for w in "$wheels"/nvidia_cuda_runtime-*.whl "$wheels"/nvidia_cuda_cupti-*.whl; do
    unzip -q -o "$w" 'nvidia/cu13/lib/libcudart.so.13' 'nvidia/cu13/lib/libcupti.so.13' -d "$tmp/x" 2>/dev/null || true
done
mv "$tmp/x/nvidia/cu13/lib/"* "$tmp/lib/"
rm -rf "$tmp/x"
echo "$TORCH_VERSION" > "$tmp/build-version"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
echo "libtorch $TORCH_VERSION ($flavour) installed in $dir" >&2

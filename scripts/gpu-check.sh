#!/usr/bin/env bash
# The GPU check (docs/benchmarks.md, "GPU check"), run on the GPU machine in the repo root with
# .gpu/ (scripts/gpu-bundle.sh) carried. Stages: unpack Node.js and the bundle; print the
# toolchain; build the addon with plain CMake against PyTorch's LibTorch; the CLI (`bilevel info`,
# a run on CUDA); scripts/gpu-smoke.js (CUDA); the jest suite (on the CPU). Each stage runs even
# when one before it failed, except the suite after a failed build (minutes spent on nothing new);
# together they fit in $GPU_CHECK_BUDGET seconds (default 480), printing timestamped progress.
#   bash scripts/gpu-check.sh                 # writes to $OUT, else ./gpu-out
# Overrides, for a run elsewhere (e.g. checking the build on a machine without a GPU):
#   STAGES="toolchain build"      which stages run (default: all, in the order above)
#   BUILD_DIR=/tmp/gpu-build      the CMake folder (default build/: the addon lands in build/Release)
#   NODE_API_INCLUDE=/usr/include/node  the Node-API headers (default: the bundle's)
#   BUILD_JOBS=2                  parallel compilations (default 16)
#   JEST_ARGS="test/cli.test.ts"  what jest runs (default: the whole suite)
set -uo pipefail
cd "$(dirname "$0")/.."

readonly repo=$PWD
readonly out="${OUT:-$repo/gpu-out}"
readonly unpacked=/tmp/bilevel-gpu
readonly build_dir="${BUILD_DIR:-$repo/build}"
readonly node_api_include="${NODE_API_INCLUDE:-$unpacked/include/node}"
readonly stages="${STAGES:-unpack toolchain build cli smoke tests}"
readonly budget="${GPU_CHECK_BUDGET:-480}"
readonly jobs="${BUILD_JOBS:-16}"
# The jest suite runs in parallel workers, each with LibTorch's threads capped, to fit its time.
readonly jest_workers=8 jest_threads=2 jest_cap=240

say() { printf '[%s +%3ds] %s\n' "$(date +%H:%M:%S)" "$SECONDS" "$*"; }
seconds_left() { echo $((budget - SECONDS)); }

results=()
addon_built=no
# Runs one stage (a function), timed; a failure is recorded and the next stage runs.
stage() {
  local name=$1 start=$SECONDS status
  [[ " $stages " == *" $name "* ]] || return 0
  say "== $name"
  if "stage_$name"; then status=ok; else status=FAILED; fi
  say "== $name: $status ($((SECONDS - start)) s)"
  results+=("$name $status $((SECONDS - start))")
}

stage_unpack() {
  if [ -e node_modules ] && [ ! -e node_modules/.bilevel-gpu-bundle ]; then
    say "node_modules/ here is not the bundle's: refusing to replace it (run this on the GPU machine, or set STAGES)"
    return 1
  fi
  rm -rf "$unpacked" && mkdir -p "$unpacked" || return 1
  cat .gpu/bundle.json
  # The image's tar may lack xz support; Python's tarfile reads it.
  if command -v xz >/dev/null; then
    tar -xJf .gpu/bundle.tar.xz -C "$unpacked" || return 1
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="tar")' \
      .gpu/bundle.tar.xz "$unpacked" || return 1
  fi
  # lib/binding.ts finds the addon at dist/../build/Release, and jest runs from the repo root.
  rm -rf dist node_modules
  mv "$unpacked/dist" "$unpacked/node_modules" . || return 1
  touch node_modules/.bilevel-gpu-bundle
  # The jest suite's real-data tests read this fixed folder; skipped there when it is absent.
  if [ ! -e /usr/share/datasets/fashion-mnist ]; then
    mkdir -p /usr/share/datasets && ln -s "$unpacked/fashion-mnist" /usr/share/datasets/fashion-mnist ||
      say "could not link /usr/share/datasets/fashion-mnist: the suite's real-data tests will be skipped"
  fi
  say "node $(node --version) from $(command -v node)"
}

# Fails when the GPU, the compiler, CMake or PyTorch is missing; prints every version either way.
stage_toolchain() {
  local missing=0
  nvidia-smi -L || missing=1
  if command -v g++ >/dev/null; then g++ --version | head -1; else say "g++: NOT FOUND"; missing=1; fi
  cmake --version | head -1 || missing=1
  if command -v ninja >/dev/null; then echo "ninja $(ninja --version)"; else say "ninja: not found (Makefiles instead)"; fi
  if command -v nvcc >/dev/null; then nvcc --version | tail -2; else say "nvcc: not found"; fi
  python3 - <<'EOF' || missing=1
import torch, torch.utils
print('torch', torch.__version__, '| CUDA', torch.version.cuda, '| cuda available:', torch.cuda.is_available(),
      '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no device')
print('LibTorch CMake prefix:', torch.utils.cmake_prefix_path)
EOF
  echo "node $(node --version)"
  return $missing
}

# What cmake-js would pass: the Node-API headers (CMAKE_JS_INC), nothing to compile or link on
# Linux (CMAKE_JS_SRC, CMAKE_JS_LIB), the addon into <build>/Release.
stage_build() {
  if ! command -v g++ >/dev/null; then
    say "g++ not found: the addon needs a C++17 compiler (g++); nothing was built"
    return 1
  fi
  local args=(-S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_JS_INC=$node_api_include" -DCMAKE_JS_SRC= -DCMAKE_JS_LIB=
    "-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$build_dir/Release"
    # PyTorch's CMake files enable CUDA (no unit of ours is CUDA): the H200's architecture.
    -DCMAKE_CUDA_ARCHITECTURES=90)
  command -v ninja >/dev/null && args+=(-G Ninja)
  if [ ! -f /usr/include/zlib.h ]; then
    local libz
    libz=$(ldconfig -p | awk '$1 == "libz.so.1" && /x86-64/ { print $NF; exit }')
    say "no zlib headers in /usr/include: the bundle's, with ${libz:-no libz.so.1 found}"
    args+=("-DZLIB_INCLUDE_DIR=$unpacked/include/zlib" "-DZLIB_LIBRARY=$libz")
  fi
  local start=$SECONDS
  # TORCH_CUDA_ARCH_LIST: PyTorch's CMake files would otherwise run a program to find the GPU's.
  # CMAKE_POLICY_VERSION_MINIMUM: lets a CMake 4 read CMake files written for older ones.
  if ! TORCH_CUDA_ARCH_LIST=9.0 timeout 150 cmake -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${args[@]}" >>"$out/build.log" 2>&1; then
    say "configure failed; the end of build.log:"
    tail -40 "$out/build.log"
    return 1
  fi
  grep -E 'bilevel:|Caffe2: CUDA' "$out/build.log"
  say "configured in $((SECONDS - start)) s; building with -j$jobs"
  start=$SECONDS
  # The build may take what the budget holds beyond two minutes for the smoke test (0 would mean no cap).
  local build_cap=$(($(seconds_left) - 120))
  ((build_cap < 60)) && build_cap=60
  if ! timeout "$build_cap" cmake --build "$build_dir" -j "$jobs" >>"$out/build.log" 2>&1; then
    say "build failed after $((SECONDS - start)) s; the end of build.log:"
    tail -40 "$out/build.log"
    return 1
  fi
  say "built in $((SECONDS - start)) s: $build_dir/Release/bilevel.node"
  # Whether LibTorch's CUDA libraries are linked, and found from the addon.
  readelf -d "$build_dir/Release/bilevel.node" | grep -E 'NEEDED|RUNPATH'
  ldd "$build_dir/Release/bilevel.node" | grep -E 'libtorch|libc10|libcudart|not found'
  addon_built=yes
}

stage_cli() {
  node dist/cli.js info &&
    node dist/cli.js info --json >"$out/info.json" &&
    # The CLI's --device override, end to end on a shipped config.
    node dist/cli.js run examples/configs/nonconvex-rhg.json --device cuda --iterations 20 \
      --out "$unpacked/cli-run" --force --quiet &&
    node -e 'const r = require(process.argv[1]);
      console.log(`CLI run on CUDA: ${r.status}, ${r.iterations} iterations, F ${r.upper}, x ${r.x}, ${r.wallTimeSeconds} s`)' \
      "$unpacked/cli-run/result.json"
}

stage_smoke() {
  BILEVEL_FASHION_MNIST="$unpacked/fashion-mnist" timeout 200 node scripts/gpu-smoke.js "$out/gpu-smoke.json"
}

stage_tests() {
  if [ "$addon_built" = no ] && [[ " $stages " == *" build "* ]]; then
    say "skipped: the addon did not build"
    return 1
  fi
  local cap
  cap=$(seconds_left)
  ((cap > jest_cap)) && cap=$jest_cap
  if ((cap < 30)); then
    say "skipped: only $cap s of the budget left"
    return 1
  fi
  say "jest: $jest_workers workers x $jest_threads threads, at most $cap s; the whole output in jest.log"
  OMP_NUM_THREADS=$jest_threads timeout -k 10 "$cap" \
    node --expose-gc node_modules/jest/bin/jest.js --ci --maxWorkers="$jest_workers" ${JEST_ARGS:-} >"$out/jest.log" 2>&1
  local status=$?
  grep -E '^(PASS|FAIL) |^Tests:|^Test Suites:|^Time:' "$out/jest.log"
  grep -E '^  ● ' "$out/jest.log" | sort -u | head -40
  ((status == 124 || status == 137)) && say "jest: stopped at its $cap s cap"
  return $status
}

# Node.js from the bundle, and nvcc where CUDA images keep it.
export PATH="$unpacked/bin:$PATH"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi

write_summary() {
  say "summary (stage, status, seconds):"
  printf '  %s\n' "${results[@]}"
  local i name status secs separator=,
  echo '[' >"$out/summary.json"
  for i in "${!results[@]}"; do
    read -r name status secs <<<"${results[$i]}"
    ((i == ${#results[@]} - 1)) && separator=
    printf '  {"stage": "%s", "status": "%s", "seconds": %s}%s\n' "$name" "$status" "$secs" "$separator" >>"$out/summary.json"
  done
  echo ']' >>"$out/summary.json"
}

main() {
  say "gpu-check: stages: $stages; budget $budget s; output in $out"
  # Smoke before the suite: the suite takes what is left of the budget.
  for name in unpack toolchain build cli smoke tests; do stage "$name"; done
  write_summary
  [[ " ${results[*]} " != *FAILED* ]]
}

mkdir -p "$out"
main 2>&1 | tee -a "$out/gpu-check.log"

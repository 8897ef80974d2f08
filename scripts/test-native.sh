#!/usr/bin/env bash
# npm run test:native: the core's C++ unit tests (test/core, GoogleTest), built and run twice:
# plain (Release, as the addon compiles the core) and under AddressSanitizer + UndefinedBehavior-
# Sanitizer (any report fails the test that caused it). Each build keeps its folder, so a rerun
# compiles only what changed: plain is the addon's own build, build/, when `npm ci` made one (its
# core objects serve the tests as they are: only the test units compile), else build-native/plain;
# sanitize is build-native/sanitize. Prints ctest's summary of each; exits non-zero when either
# build or any test fails.
#   bash scripts/test-native.sh              # both
#   bash scripts/test-native.sh sanitize     # one of: plain sanitize
# Needs CMake, LibTorch (scripts/install-libtorch.sh) and GoogleTest (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly jobs="${BUILD_JOBS:-$(nproc)}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

say() { echo "test-native [$SECONDS s]: $*"; }

# Configures, builds and runs one variant: name, build folder, then its CMake options.
run_variant() {
  local name=$1 dir=$2 status
  shift 2
  say "$name: configuring and building $dir (-j$jobs)"
  mkdir -p "$dir"
  cmake -S . -B "$dir" "$@" -DBILEVEL_TESTS=ON >"$dir/configure.log" ||
    { cat "$dir/configure.log"; return 1; }
  cmake --build "$dir" --target core_tests -j "$jobs" || return 1
  say "$name: running the tests"
  # LibTorch's thread pool sized for parallel test processes.
  OMP_NUM_THREADS=1 ctest --test-dir "$dir" --output-on-failure -j "$jobs" >"$dir/ctest.log" 2>&1 && status=0 || status=$?
  if ((status != 0)); then
    grep -vE '^ *Start +[0-9]+:|Test +#[0-9]+: .* Passed' "$dir/ctest.log"
  else
    grep -E 'tests passed|Total Test time' "$dir/ctest.log"
  fi
  return $status
}

variants=("$@")
((${#variants[@]})) || variants=(plain sanitize)
failed=()
for variant in "${variants[@]}"; do
  case $variant in
    plain)
      # cmake-js configured build/ (Release, the addon on): reconfiguring it keeps its settings.
      if [ -f build/CMakeCache.txt ]; then
        run_variant plain build
      else
        run_variant plain build-native/plain "${generator[@]}" -DBILEVEL_ADDON=OFF -DCMAKE_BUILD_TYPE=Release
      fi ;;
    # -O1 and line tables only: what AddressSanitizer needs for fast enough runs and reports with
    # file and line, at a third of the compile time of -O2 -g (LibTorch's templates make -g costly).
    sanitize) run_variant sanitize build-native/sanitize "${generator[@]}" -DBILEVEL_ADDON=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DBILEVEL_SANITIZE=ON ;;
    *) echo "test-native: unknown variant '$variant' (plain, sanitize)" >&2; exit 2 ;;
  esac || failed+=("$variant")
done
if ((${#failed[@]})); then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "passed: ${variants[*]}"

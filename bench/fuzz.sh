#!/usr/bin/env bash
# The fuzz targets of fuzz/ (cargo fuzz, libFuzzer): builds them all, runs
# each for a bounded time on its committed corpus, prints executions per
# second and coverage per target, and keeps the minimised corpus in
# fuzz/corpus/<target> (commit what changed). A crash stops nothing: every
# target runs, the crashes are listed at the end with the command that
# replays each, and the script exits 1.
#
#   bench/fuzz.sh                       every target, 60 s each
#   FUZZ_SECONDS=300 bench/fuzz.sh mf2  one target, five minutes
#
# Environment (all optional):
#   FUZZ_SECONDS=60        run time per target
#   FUZZ_SANITIZER=none    none | address (the targets are safe Rust; the
#                          address sanitizer finds nothing more there and
#                          halves the speed)
#   FUZZ_JOBS=1            libFuzzer processes per target (-fork)
#   FUZZ_BUILD_LOCK=FILE   run the build under `flock FILE` (shared machines)
#   FUZZ_NO_BUILD=1        use the targets as last built
#   FUZZ_NO_MINIMISE=1     keep the corpus as it grew
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) and
# cargo-fuzz, which it installs from crates.io when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ=$ROOT/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
SANITIZER=${FUZZ_SANITIZER:-none}
JOBS=${FUZZ_JOBS:-1}

say() { printf '%s\n' "$*" >&2; }
die() { say "fuzz.sh: $*"; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup"
rustup run nightly rustc --version >/dev/null 2>&1 ||
    die "a nightly toolchain is needed: rustup toolchain install nightly"
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz from crates.io…"
    cargo install cargo-fuzz --locked >&2
fi

cd "$FUZZ"
build=(cargo +nightly fuzz build -O --sanitizer "$SANITIZER")
[[ -n "${FUZZ_BUILD_LOCK:-}" ]] && build=(flock "$FUZZ_BUILD_LOCK" "${build[@]}")
if [[ -z "${FUZZ_NO_BUILD:-}" ]]; then
    say "building the fuzz targets (${build[*]})…"
    "${build[@]}" >&2
fi

TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR=$FUZZ/target/$TRIPLE/release
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Longest input per target: enough for the structures each parser reads,
# small enough that the corpus stays small.
max_len() {
    case "$1" in
        post_url) echo 2200 ;;
        form_query) echo 2048 ;;
        *) echo 8192 ;;
    esac
}

WORK=$(mktemp -d /tmp/backfeed-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

summary=()
crashes=()
for target in "${targets[@]}"; do
    bin=$BIN_DIR/$target
    [[ -x "$bin" ]] || die "no fuzz target named $target (see fuzz/Cargo.toml)"
    corpus=$FUZZ/corpus/$target
    artifacts=$FUZZ/artifacts/$target
    mkdir -p "$corpus" "$artifacts" "$WORK/$target"
    cp -a "$corpus/." "$WORK/$target/"
    before=$(find "$corpus" -type f | wc -l)
    log=$WORK/$target.log
    say "== $target: ${SECONDS_EACH}s from $before corpus inputs"
    status=0
    fork=()
    [[ "$JOBS" -gt 1 ]] && fork=(-fork="$JOBS")
    started=$SECONDS
    "$bin" "$WORK/$target" "${fork[@]}" \
        -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$target")" \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || status=$?
    ran=$((SECONDS - started))
    tail -n 3 "$log" >&2
    # The last status line: "#N  DONE  cov: C ft: F corp: K/S …  exec/s: E …".
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    if [[ $status -ne 0 ]]; then
        while IFS= read -r artifact; do
            crashes+=("$target: $artifact (replay: $bin $artifact)")
        done < <(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //')
        [[ ${#crashes[@]} -gt 0 ]] || crashes+=("$target: exited $status, see the log above")
    fi
    if [[ -z "${FUZZ_NO_MINIMISE:-}" ]]; then
        # The fewest inputs that cover every edge the run reached:
        # libFuzzer's set-cover merge into an empty directory, on edge
        # coverage alone (hit counts would keep a thousand near-copies).
        mkdir -p "$WORK/$target.min"
        if "$bin" -set_cover_merge=1 -use_counters=0 -use_value_profile=0 \
            -max_len="$(max_len "$target")" -timeout=10 \
            "$WORK/$target.min" "$WORK/$target" >"$WORK/$target.merge.log" 2>&1; then
            rm -rf "$corpus"
            mkdir -p "$corpus"
            cp -a "$WORK/$target.min/." "$corpus/"
        else
            say "$target: minimising failed (see below); the corpus is kept as it was"
            tail -n 5 "$WORK/$target.merge.log" >&2
        fi
    else
        cp -a "$WORK/$target/." "$corpus/"
    fi
    after=$(find "$corpus" -type f | wc -l)
    size=$(du -sk --apparent-size "$corpus" | cut -f1)
    summary+=("$(printf '%-22s %6ss %12s %10s %7s %8s %5s→%-5s %6s' \
        "$target" "$ran" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
        "$before" "$after" "${size}K")")
done

printf '%-22s %7s %12s %10s %7s %8s %11s %6s\n' \
    target time executions exec/s cov ft corpus size
printf '%s\n' "${summary[@]}"
if [[ ${#crashes[@]} -gt 0 ]]; then
    printf '\ncrashes:\n'
    printf '  %s\n' "${crashes[@]}"
    exit 1
fi
printf '\nno crashes\n'

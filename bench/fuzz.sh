#!/usr/bin/env bash
# Fuzz every parser of untrusted bytes with cargo-fuzz (libFuzzer) for MINUTES each, one target
# after the other, and print a Markdown table: executions and crashes per target.
#
#   bench/fuzz.sh [MINUTES] [TARGET...]     (default: 10 minutes, every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The checkpoint target
# loads the e-prop plugin, built here in the main workspace. Seeds: fuzz/seeds/<target>/ (small,
# in git), data/events/*, data/example_net.toml, bench/nets/*.toml and generated files (a valid
# checkpoint, weights) copied into fuzz/corpus/<target>/ (not in git), which libFuzzer grows.
# Crashing inputs land in fuzz/artifacts/<target>/; logs in fuzz/logs/<target>.log.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
minutes=${1:-10}
shift || true
all=(config events_npy events_aedat events_evt2 events_nmnist npy npz weights checkpoint nir)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz missing: installing it (cargo install cargo-fuzz)" >&2
    cargo install cargo-fuzz
fi

cargo build --release -p eligo-rule-eprop
export ELIGO_FUZZ_PLUGIN="$root/target/release/deps/libeligo_eprop.so"
(cd fuzz && cargo +nightly fuzz build)
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin="$root/fuzz/target/$triple/release"

# seed corpora
for t in "${all[@]}"; do mkdir -p "fuzz/corpus/$t"; done
"$bin/seeds"
for t in "${all[@]}"; do
    [ -d "fuzz/seeds/$t" ] && cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
done
cp -n data/example_net.toml bench/nets/*.toml fuzz/corpus/config/
cp -n data/events/*.npy fuzz/corpus/events_npy/
cp -n data/events/*.npy fuzz/corpus/npy/
cp -n data/events/*.aedat fuzz/corpus/events_aedat/
cp -n data/events/*.raw fuzz/corpus/events_evt2/
cp -n data/events/*.bin fuzz/corpus/events_nmnist/
cp -n tests/data/nir/*.nir fuzz/corpus/nir/

mkdir -p fuzz/logs
rows=()
for t in "${targets[@]}"; do
    echo "== $t: ${minutes} min" >&2
    mkdir -p "fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    # -fork: a crash is recorded and the run goes on, so one bug does not hide the others
    (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -fork=1 \
        -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1) >"$log" 2>&1 || true
    # the fork driver prints "#N ... exec/s ... " lines; the last is the total
    execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    crashes=$(find "fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' \
        -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    # libFuzzer's own count of failing inputs (oom/timeout/crash), from its last status line
    failed=$(grep -Eo 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    rows+=("| \`$t\` | $minutes | ${execs:-?} | $corpus | ${failed:-?} | $crashes |")
done

echo
echo "| target | minutes | executions | corpus files | oom/timeout/crash | files in fuzz/artifacts |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"

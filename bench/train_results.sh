#!/usr/bin/env bash
# Question: does each rule solve each task as the paper reports, and how fast?
# Runs `eligo train` for every task x rule row of docs/results.md (sequentially, with the
# tasks' default settings) and prints one markdown row per run from its summary.json.
#
#   bash bench/train_results.sh [ROW_FILTER]      # e.g. bash bench/train_results.sh evidence
#
# Each row's command is printed beside its result; outputs go to out/results/<name>/.
# Classification rows report the test error, regression rows (sine-waves, pattern) the test
# normalized MSE (summary.json's test_nmse: mean squared error / variance of the target).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
bin=${CARGO_TARGET_DIR:-target}/release/eligo
filter="${1:-}"
kp=$(mktemp); printf '[optimizer]\nkind = "adam"\nlr = 0.005\ndecay_by_projection = { "rec->out" = 0.001 }\n' > "$kp"
rows=(
  "evidence-eprop-random|--task evidence --rule eprop --feedback random"
  "evidence-eprop-symmetric|--task evidence --rule eprop --feedback symmetric"
  "evidence-eprop-adaptive|--task evidence --rule eprop --feedback adaptive --rule-config $kp"
  "evidence-bptt|--task evidence --rule bptt"
  "evidence-lif-eprop-random|--task evidence-lif --rule eprop --feedback random --no-early-stop --iterations 300"
  "sine-waves-eprop-random|--task sine-waves --rule eprop --feedback random"
  "pattern-eprop-random|--task pattern --rule eprop --feedback random"
  "store-recall-eprop-random|--task store-recall --rule eprop --feedback random"
  "store-recall-bptt|--task store-recall --rule bptt"
  "digits-eprop-random|--task digits --rule eprop --feedback random"
)
echo "| run | command | iterations | stopped early at | test error (regression: NMSE) | s / iteration |"
echo "|---|---|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  name=${row%%|*}; args=${row#*|}
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  out=out/results/$name
  # shellcheck disable=SC2086
  $bin train $args --out "$out" --quiet > /dev/null
  python3 - "$out/summary.json" "$name" "$args" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
res = f"{100*d['test_error']:.1f} %" if "test_error" in d else f"NMSE {d['test_nmse']:.3f}"
print(f"| {sys.argv[2]} | `eligo train {sys.argv[3]}` | {d['iterations']} | {d['stopped_early_at'] or '-'} | {res} | {d['seconds_per_iteration']:.3f} |")
PY
done
rm -f "$kp"

#!/usr/bin/env bash
# Question: does each rule solve each task as the paper reports, and how fast?
# Runs `eligo train` for every task x rule row of docs/results.md (sequentially, with the
# tasks' default settings) and prints one markdown row per run from its summary.json.
#
#   bash bench/train_results.sh [ROW_FILTER]      # e.g. bash bench/train_results.sh evidence
#   SEEDS="1 2 3" bash bench/train_results.sh evidence   # one row per seed (default: seed 1)
#
# Each row's command is printed beside its result; outputs go to out/results/<name>-seed<S>/.
# Classification rows report the test error, regression rows (sine-waves, pattern) the test
# normalized MSE (summary.json's test_nmse: mean squared error / variance of the target).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
bin=${CARGO_TARGET_DIR:-target}/release/eligo
filter="${1:-}"
seeds="${SEEDS:-1}"
# adaptive feedback (Kolen-Pollack) needs the readout to decay like B; the task's optimizer stays
kp=$(mktemp); printf '[optimizer]\ndecay_by_projection = { "rec->out" = 0.001 }\n' > "$kp"
kp_slow=$(mktemp); printf '[optimizer]\ndecay_by_projection = { "rec->out" = 0.0001 }\n' > "$kp_slow"
rows=(
  "evidence-eprop-random|--task evidence --rule eprop --feedback random"
  "evidence-eprop-symmetric|--task evidence --rule eprop --feedback symmetric"
  "evidence-eprop-adaptive|--task evidence --rule eprop --feedback adaptive --rule-config $kp"
  "evidence-bptt|--task evidence --rule bptt"
  "evidence-ottt|--task evidence --rule ottt --iterations 150"
  "evidence-ostl|--task evidence --rule ostl --iterations 150"
  "evidence-otpe|--task evidence --rule otpe --iterations 150"
  "evidence-lif-eprop-random|--task evidence-lif --rule eprop --feedback random --no-early-stop --iterations 300"
  "store-recall-eprop-random|--task store-recall --rule eprop --feedback random"
  "store-recall-eprop-symmetric|--task store-recall --rule eprop --feedback symmetric"
  "store-recall-eprop-adaptive|--task store-recall --rule eprop --feedback adaptive --rule-config $kp"
  "store-recall-bptt|--task store-recall --rule bptt"
  "store-recall-ottt|--task store-recall --rule ottt --iterations 150"
  "store-recall-ostl|--task store-recall --rule ostl --iterations 150"
  "store-recall-otpe|--task store-recall --rule otpe --iterations 150"
  "pattern-eprop-random|--task pattern --rule eprop --feedback random"
  "pattern-eprop-symmetric|--task pattern --rule eprop --feedback symmetric --lr 1e-5"
  "pattern-eprop-adaptive|--task pattern --rule eprop --feedback adaptive --rule-config $kp_slow"
  "pattern-bptt|--task pattern --rule bptt"
  "sine-waves-eprop-random|--task sine-waves --rule eprop --feedback random"
  "sine-waves-eprop-symmetric|--task sine-waves --rule eprop --feedback symmetric"
  "sine-waves-eprop-adaptive|--task sine-waves --rule eprop --feedback adaptive --rule-config $kp_slow"
  "sine-waves-bptt|--task sine-waves --rule bptt"
  "digits-eprop-random|--task digits --rule eprop --feedback random"
  "digits-eprop-symmetric|--task digits --rule eprop --feedback symmetric"
  "digits-eprop-adaptive|--task digits --rule eprop --feedback adaptive --rule-config $kp"
  "digits-bptt|--task digits --rule bptt"
)
echo "| run | command | seed | iterations | stopped early at | test error (regression: NMSE) | s / iteration |"
echo "|---|---|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  name=${row%%|*}; args=${row#*|}
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  # the command as docs/results.md shows it (the temporary configs by name)
  shown=${args//$kp_slow/KP_slow.toml}; shown=${shown//$kp/KP.toml}
  for seed in $seeds; do
    out=out/results/$name-seed$seed
    mkdir -p out/results
    # shellcheck disable=SC2086
    if ! $bin train $args --seed "$seed" --out "$out" --quiet > /dev/null 2> "$out.err"; then
      echo "| $name | \`eligo train $shown\` | $seed | failed: $(tail -1 "$out.err") | | | |"
      continue
    fi
    python3 - "$out/summary.json" "$name" "$shown" "$seed" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
res = f"{100*d['test_error']:.1f} %" if "test_error" in d else f"NMSE {d['test_nmse']:.3f}"
print(f"| {sys.argv[2]} | `eligo train {sys.argv[3]}` | {sys.argv[4]} | {d['iterations']} | {d['stopped_early_at'] or '-'} | {res} | {d['seconds_per_iteration']:.3f} |")
PY
  done
done
rm -f "$kp" "$kp_slow"

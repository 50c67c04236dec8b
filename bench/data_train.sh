#!/usr/bin/env bash
# Data loading against training on the synthetic SHD-like set (bench/README.md, "data"):
# `eligo bench data` reads every sample of each layout on one thread (best of 3 passes);
# `eligo train --epochs 3` trains bench/nets/shd_alif_256.toml (700-256-20 ALIF) with e-prop and
# BPTT on 1 and 2 threads. Prints one line per run and the ratio loading / training samples/s.
#
#   bash bench/data_train.sh            # needs a release build with --features hdf5 for shd
set -euo pipefail
cd "$(dirname "$0")/.."
eligo=${ELIGO:-target/release/eligo}
data=data/spiking-digits
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-10s %14s %14s\n' layout samples/s spikes/s
for layout in npy shd dense.npz; do
    line=$("$eligo" bench data "$data/$layout" --data-config "$data/data.toml") || continue
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%-10s %14.0f %14.0f" % (sys.argv[2], d["samples_per_s"], d["spikes_per_s"]))' "$line" "$layout"
    echo "$line" > "$out/load_$layout.json"
done
printf '\n%-6s %7s %10s %12s %14s %s\n' rule threads s/epoch samples/s "load/train" "(npy, shd, npz)"
for rule in eprop bptt; do
    for threads in 1 2; do
        d="$out/$rule-$threads"
        "$eligo" train --net bench/nets/shd_alif_256.toml --data "$data/npy" \
            --data-config "$data/data.toml" --epochs 3 --rule "$rule" --threads "$threads" \
            --out "$d" --quiet --progress none
        python3 - "$d" "$rule" "$threads" "$out" <<'PY'
import json, sys, os
d, rule, threads, out = sys.argv[1:]
lines = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))]
epochs = [json.loads(l) for l in open(os.path.join(d, "epochs.jsonl"))]
train_s = sum(l["seconds"] for l in lines)  # training iterations only, validation excluded
per_epoch = train_s / len(epochs)
samples = 180 * len(epochs) / train_s
ratios = []
for layout in ["npy", "shd", "dense.npz"]:
    p = os.path.join(out, f"load_{layout}.json")
    if os.path.exists(p):
        ratios.append("%.0fx" % (json.load(open(p))["samples_per_s"] / samples))
print("%-6s %7s %10.3f %12.0f %14s" % (rule, threads, per_epoch, samples, ", ".join(ratios)))
PY
    done
done

#!/usr/bin/env bash
# Interleaved A/B of the network build: two eligo binaries build the same network, the CUBA
# network of `eligo bench cuba --neurons N --synapses-per-neuron 1000` written as a TOML (so
# that a binary without that flag builds it too), through `simulate` for one 0.1 ms step;
# build_s from summary.json, peak RSS from /usr/bin/time. Prints one line per run.
#
#   bash bench/build_ab.sh BEFORE_BINARY AFTER_BINARY [N=100000] [REPEATS=3]
set -euo pipefail
a=$1 b=$2 n=${3:-100000} reps=${4:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ne=$((n * 4 / 5))
p=$(python3 -c "print(1000 / $n)")
{
    printf 'dt_ms = 0.1\nduration_ms = 0.1\nseed = 1\n'
    for pop in "exc $ne" "inh $((n - ne))"; do
        set -- $pop
        printf '[[population]]\nname = "%s"\nmodel = "lif_exp"\nsize = %s\ne_l_mv = -49.0\n' "$1" "$2"
        printf 'v_th_mv = -50.0\nv_reset_mv = -60.0\nt_ref_ms = 5.0\n'
        printf 'v_init = { kind = "uniform", low = -60.0, high = -50.0 }\n'
    done
    for from in exc inh; do
        w=1.62
        [ $from = inh ] && w=-9.0
        for to in exc inh; do
            printf '[[projection]]\nfrom = "%s"\nto = "%s"\nrule = "fixed_probability"\n' $from $to
            printf 'p = %s\nweight = %s\ndelay_ms = 0.1\nallow_autapses = true\n' "$p" $w
        done
    done
} >"$dir/net.toml"
for _ in $(seq "$reps"); do
    for t in 1 2; do
        for bin in "$a" "$b"; do
            /usr/bin/time -f %M -o "$dir/rss" "$bin" simulate "$dir/net.toml" --threads $t --quiet \
                --out "$dir/out"
            s=$(python3 -c "import json; print(round(json.load(open('$dir/out/summary.json'))['build_s'], 2))")
            echo "$bin threads=$t build_s=$s peak_kB=$(cat "$dir/rss") load=$(cut -d' ' -f1 /proc/loadavg)"
        done
    done
done

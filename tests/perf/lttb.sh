#!/usr/bin/env bash
# LTTB (one thread) and MinMaxLTTB (every core, ratio 4) of 10^7 and 10^8 f64 points to
# 2000: skyglass-series against tsdownsample on the same arrays in one run, each the fastest
# of three calls, timing the downsampling alone (the arrays already in memory). The picks
# must be the same indices. x is evenly spaced seconds, y a seeded random walk.
# Last line: lttb_1e8: ours=… anchor=… ratio=… (seconds, LTTB on one thread).
#
#   tests/perf/lttb.sh            # 10^7 and 10^8
#   SIZES=1000000 tests/perf/lttb.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${SIZES:-"10000000 100000000"}
N_OUT=2000
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skyglass/target}
python3 -c "import numpy, tsdownsample" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check numpy tsdownsample

cargo build --release --locked -p skyglass-series --example downsample_files >&2
ours="$CARGO_TARGET_DIR/release/examples/downsample_files"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

summary=()
for n in $SIZES; do
    echo "making $n points" >&2
    python3 - "$n" "$work" <<'PY'
import sys
import numpy as np
n, work = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(5)
(np.arange(n, dtype=np.float64) * 0.5).tofile(f"{work}/x")
np.cumsum(rng.normal(size=n)).tofile(f"{work}/y")
PY
    read -r ours_lttb ours_minmax < <("$ours" "$work/x" "$work/y" "$N_OUT" "$work/ours_lttb" "$work/ours_minmax")
    read -r theirs_lttb theirs_minmax < <(python3 - "$work" "$N_OUT" <<'PY'
import sys, time
import numpy as np
from tsdownsample import LTTBDownsampler, MinMaxLTTBDownsampler
work, n_out = sys.argv[1], int(sys.argv[2])
x, y = np.fromfile(f"{work}/x"), np.fromfile(f"{work}/y")
def fastest(call):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        picks = call()
        best = min(best, time.perf_counter() - start)
    return best, picks
lttb_s, lttb = fastest(lambda: LTTBDownsampler().downsample(x, y, n_out=n_out))
minmax_s, minmax = fastest(lambda: MinMaxLTTBDownsampler().downsample(x, y, n_out=n_out, minmax_ratio=4, parallel=True))
for name, picks in (("lttb", lttb), ("minmax", minmax)):
    ours = np.fromfile(f"{work}/ours_{name}", dtype="<u8")
    if not np.array_equal(ours, picks):
        sys.exit(f"{name}: the picks differ from tsdownsample's")
print(lttb_s, minmax_s)
PY
)
    ratio() { python3 -c "print(f'{$1 / $2:.3g}')"; }
    label=$(python3 -c "import math; print(f'1e{round(math.log10($n))}')")
    printf '%s points → %s: LTTB skyglass %.3f s, tsdownsample %.3f s (ratio %s) | MinMaxLTTB skyglass %.3f s, tsdownsample %.3f s (ratio %s)\n' \
        "$n" "$N_OUT" "$ours_lttb" "$theirs_lttb" "$(ratio "$ours_lttb" "$theirs_lttb")" \
        "$ours_minmax" "$theirs_minmax" "$(ratio "$ours_minmax" "$theirs_minmax")"
    summary+=("minmaxlttb_$label: ours=$ours_minmax anchor=$theirs_minmax ratio=$(ratio "$ours_minmax" "$theirs_minmax")")
    summary+=("lttb_$label: ours=$ours_lttb anchor=$theirs_lttb ratio=$(ratio "$ours_lttb" "$theirs_lttb")")
done
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# /timeseries on an N-row table (a seeded random walk sampled every 0.1 s, ingested with
# --time): the whole range to 2000 points, and 1% zooms at random places, through HTTP on
# `skyglass serve`; against pyarrow reading the same Parquet file (only the range's row
# groups, by its statistics) and tsdownsample's MinMaxLTTB on it, in one run. Medians.
# Last line: timeseries_zoom: ours=… anchor=… ratio=… (seconds per request).
#
#   tests/perf/timeseries.sh              # 10^8 rows
#   N=10000000 tests/perf/timeseries.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-100000000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skyglass/target}
python3 -c "import numpy, pyarrow, tsdownsample" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check numpy pyarrow tsdownsample

cargo build --release --locked -p skyglass >&2
skyglass="$CARGO_TARGET_DIR/release/skyglass"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

echo "making $N rows" >&2
python3 - "$N" "$work/series.parquet" <<'PY'
import sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(9)
schema = pa.schema([("t", pa.float64()), ("flux", pa.float64())])
level = 0.0
with pq.ParquetWriter(path, schema) as writer:
    for start in range(0, n, 5_000_000):
        m = min(5_000_000, n - start)
        steps = rng.normal(size=m)
        flux = level + np.cumsum(steps)
        level = flux[-1]
        t = (np.arange(start, start + m, dtype=np.float64)) * 0.1
        writer.write_table(pa.table({"t": t, "flux": flux}, schema=schema))
PY
echo "ingesting" >&2
start=$(date +%s.%N)
"$skyglass" -q ingest "$work/series.parquet" --table bench.series --time t --data "$work/archive" >&2
end=$(date +%s.%N)
python3 -c "print(f'ingest: {$N / ($end - $start):,.0f} rows/s ({$end - $start:.1f} s)')" >&2
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$skyglass" -q serve --data "$work/archive" --addr "127.0.0.1:$port" >&2 &
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/tap/availability" && break; sleep 0.2; done

python3 - "$port" "$N" "$work/archive/tables/bench/series.parquet" <<'PY'
import http.client, json, statistics, sys, time
import numpy as np
import pyarrow.parquet as pq
from tsdownsample import MinMaxLTTBDownsampler
port, n, parquet = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
end_t = (n - 1) * 0.1
rng = np.random.default_rng(3)
connection = http.client.HTTPConnection("127.0.0.1", port)

def ours(start, end):
    began = time.perf_counter()
    connection.request("GET", f"/timeseries/bench.series?x=t&y=flux&width=1000&start={start!r}&end={end!r}")
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"/timeseries answered {response.status}: {body[:300]!r}")
    points = len(json.loads(body)["series"][0]["x"])
    return time.perf_counter() - began, points

def anchor(start, end):
    began = time.perf_counter()
    table = pq.read_table(parquet, columns=["t", "flux"], filters=[("t", ">=", start), ("t", "<=", end)])
    t, flux = table.column("t").to_numpy(), table.column("flux").to_numpy()
    picks = MinMaxLTTBDownsampler().downsample(t, flux, n_out=2000, parallel=True)
    return time.perf_counter() - began, len(picks)

def median(call, ranges):
    times, points = zip(*(call(*r) for r in ranges))
    return statistics.median(times), max(points)

whole = [(0.0, end_t)] * 5
zooms = []
for _ in range(20):
    s = rng.uniform(0, end_t * 0.99)
    zooms.append((s, s + end_t * 0.01))
ours(*whole[0]), anchor(*whole[0])  # warm both
rows = []
for name, ranges in (("whole", whole), ("zoom", zooms)):
    (o, op), (a, ap) = median(ours, ranges), median(anchor, ranges)
    print(f"{name:5} {n} rows: skyglass /timeseries {o * 1000:.1f} ms ({op} points), "
          f"pyarrow + tsdownsample {a * 1000:.1f} ms ({ap} points)", file=sys.stderr)
    rows.append(f"timeseries_{name}: ours={o:.4f} anchor={a:.4f} ratio={o / a:.3g}")
print("\n".join(rows))
PY

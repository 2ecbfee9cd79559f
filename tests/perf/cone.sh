#!/usr/bin/env bash
# Cone searches of radius 0.5° at random centres, through TAP sync on `skyglass serve`,
# against PostgreSQL 15 with a q3c index on the same rows, in one run. The rows are N
# points uniform on the sphere (seeded); ingesting them also measures the ingest rate.
# Last line: cone_search_p50: ours=… anchor=… ratio=… (seconds per query, median).
#
#   tests/perf/cone.sh            # 10 million points, 300 cones
#   N=1000000 QUERIES=100 tests/perf/cone.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-10000000}
QUERIES=${QUERIES:-300}
RADIUS=0.5
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skyglass/target}

need_apt() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }
missing=()
need_apt postgresql-15
need_apt postgresql-15-q3c
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
python3 -c "import numpy, psycopg" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check numpy "psycopg[binary]"

cargo build --release --locked -p skyglass >&2
skyglass="$CARGO_TARGET_DIR/release/skyglass"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${PGDATA:-}" ] && su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $PGDATA stop -m immediate" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "making $N points" >&2
python3 - "$N" "$work/points.csv" <<'PY'
import sys
import numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(42)
with open(path, "w") as f:
    f.write("id,ra,dec\n")
    for start in range(0, n, 1_000_000):
        m = min(1_000_000, n - start)
        ra = rng.uniform(0.0, 360.0, m)
        dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, m)))
        ids = np.arange(start, start + m)
        np.savetxt(f, np.column_stack([ids, ra, dec]), fmt=["%d", "%.9f", "%.9f"], delimiter=",")
PY

echo "ingesting into skyglass" >&2
start=$(date +%s.%N)
"$skyglass" -q ingest "$work/points.csv" --table bench.points --ra ra --dec dec --data "$work/archive" >&2
end=$(date +%s.%N)
python3 -c "print(f'skyglass ingest: {$N / ($end - $start):,.0f} rows/s ({$end - $start:.1f} s)')" >&2
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$skyglass" -q serve --data "$work/archive" --addr "127.0.0.1:$port" >&2 &
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/tap/availability" && break; sleep 0.2; done

echo "loading PostgreSQL with q3c" >&2
export PGDATA="$work/pg"
mkdir -p "$PGDATA" && chown -R postgres "$work"
chmod 755 "$work"
su postgres -c "/usr/lib/postgresql/15/bin/initdb -D $PGDATA -A trust" >/dev/null
pgport=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $PGDATA -o '-p $pgport -k $work -c listen_addresses=127.0.0.1' -w start" >/dev/null
psql="psql -h 127.0.0.1 -p $pgport -U postgres -q"
$psql -c "CREATE EXTENSION q3c" -c "CREATE TABLE points (id bigint, ra double precision, dec double precision)"
$psql -c "\copy points FROM '$work/points.csv' CSV HEADER"
$psql -c "CREATE INDEX ON points (q3c_ang2ipix(ra, dec))" -c "CLUSTER points USING points_q3c_ang2ipix_idx" -c "ANALYZE points"

echo "running $QUERIES cones of ${RADIUS}° on each" >&2
python3 - "$port" "$pgport" "$QUERIES" "$RADIUS" <<'PY'
import http.client, sys, time, urllib.parse
import numpy as np
import psycopg
port, pgport, queries, radius = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rng = np.random.default_rng(7)
centres = [(rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1)))) for _ in range(queries)]
# One connection each, kept open, as pyvo's session and psycopg do.
tap = http.client.HTTPConnection("127.0.0.1", port)
ours, theirs = [], []
with psycopg.connect(host="127.0.0.1", port=pgport, user="postgres") as conn:
    for ra, dec in centres:
        adql = f"SELECT id, ra, dec FROM bench.points WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {radius}))"
        body = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv", "MAXREC": "1000000"}).encode()
        t = time.perf_counter()
        tap.request("POST", "/tap/sync", body, {"Content-Type": "application/x-www-form-urlencoded"})
        rows_ours = tap.getresponse().read().count(b"\n") - 1
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        rows_theirs = len(conn.execute("SELECT id, ra, dec FROM points WHERE q3c_radial_query(ra, dec, %s, %s, %s)", (ra, dec, radius)).fetchall())
        theirs.append(time.perf_counter() - t)
        if rows_ours != rows_theirs:
            sys.exit(f"cone at ({ra}, {dec}): {rows_ours} rows from skyglass, {rows_theirs} from q3c")
p = lambda v, q: float(np.percentile(v, q))
print(f"skyglass: p50 {p(ours, 50) * 1e3:.1f} ms, p99 {p(ours, 99) * 1e3:.1f} ms; q3c: p50 {p(theirs, 50) * 1e3:.1f} ms, p99 {p(theirs, 99) * 1e3:.1f} ms", file=sys.stderr)
print(f"cone_search_p50: ours={p(ours, 50):.4f} anchor={p(theirs, 50):.4f} ratio={p(ours, 50) / p(theirs, 50):.3f}")
PY

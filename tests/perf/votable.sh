#!/usr/bin/env bash
# Parse the same 1M-row, 20-column table as BINARY2 and as TABLEDATA with Skyglass's streaming
# reader and with astropy.io.votable, in one run. Prints MB/s for each and, last, the total.
#   tests/perf/votable.sh [ROWS]       (default 1000000; needs astropy)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p skyglass-votable --example votable_bench
bench="${CARGO_TARGET_DIR:-target}/release/examples/votable_bench"
"$bench" generate "$rows" "$work/table.b2.vot" "$work/table.td.vot"

astropy_parse() {
    python3 - "$1" <<'PY'
import sys, time, resource
from astropy.io.votable import parse
start = time.perf_counter()
table = parse(sys.argv[1], verify="ignore").get_first_table()
rows = len(table.array)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(f"rows={rows} seconds={seconds:.3f} peak_rss_mb={peak}")
PY
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

total_ours=0
total_anchor=0
for kind in b2 td; do
    file="$work/table.$kind.vot"
    mb=$(python3 -c "import os; print(os.path.getsize('$file') / 1e6)")
    ours=$("$bench" parse "$file")
    anchor=$(astropy_parse "$file")
    [ "$(field "$ours" rows)" = "$(field "$anchor" rows)" ] || { echo "row counts differ: $ours / $anchor"; exit 1; }
    o=$(field "$ours" seconds); a=$(field "$anchor" seconds)
    python3 -c "
o, a, mb = $o, $a, $mb
name = {'b2': 'BINARY2', 'td': 'TABLEDATA'}['$kind']
print(f'{name}: {mb:.0f} MB, ours {o:.2f} s ({mb / o:.0f} MB/s, peak {$(field "$ours" peak_rss_mb)} MB), '
      f'astropy {a:.2f} s ({mb / a:.0f} MB/s, peak {$(field "$anchor" peak_rss_mb)} MB), astropy/ours = {a / o:.1f}')
"
    total_ours=$(python3 -c "print($total_ours + $o)")
    total_anchor=$(python3 -c "print($total_anchor + $a)")
done
python3 -c "print(f'votable_parse_1m_rows: ours={$total_ours:.3f}s anchor={$total_anchor:.3f}s ratio={$total_ours / $total_anchor:.3f}')"

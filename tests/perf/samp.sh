#!/usr/bin/env bash
# SAMP hubs side by side: `skyglass hub` against pyvo's SAMPHubServer (the astropy hub),
# each on its own lockfile, driven by the same pyvo.samp clients in one run.
#   round trip: client A notifies client B, B's handler wakes A; the median of 300.
#   throughput: 10 clients; one notifies the other 9 (notifyAll) 200 times; messages
#   delivered per second until every client has them all.
# Last line: samp_roundtrip: ours=… anchor=… ratio=… (seconds per round trip).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/skyglass/target}
python3 -c "import pyvo.samp" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pyvo
cargo build --release --locked -p skyglass >&2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

"$CARGO_TARGET_DIR/release/skyglass" hub --lockfile "$work/ours.lock" >/dev/null &
HOME="$work" python3 - "$work/theirs.lock" <<'PY' >/dev/null 2>&1 &
import sys, time
from pyvo.samp import SAMPHubServer
hub = SAMPHubServer(web_profile=False, lockfile=sys.argv[1], addr="127.0.0.1")
hub.start(wait=False)
while True:
    time.sleep(1)
PY
for lock in ours theirs; do
    for _ in $(seq 100); do [ -s "$work/$lock.lock" ] && break; sleep 0.1; done
done

measure() {
    SAMP_HUB="std-lockurl:file://$1" HOME="$work" python3 - <<'PY'
import statistics, threading, time
from pyvo.samp import SAMPIntegratedClient

def client(name):
    c = SAMPIntegratedClient(name=name, addr="127.0.0.1")
    c.connect()
    return c

a, b = client("A"), client("B")
arrived = threading.Event()
b.bind_receive_notification("perf.ping", lambda *args: arrived.set())
times = []
for _ in range(300):
    arrived.clear()
    start = time.perf_counter()
    a.enotify(b.get_public_id(), "perf.ping")
    arrived.wait(10)
    times.append(time.perf_counter() - start)
round_trip = statistics.median(times)

receivers = [client(f"R{i}") for i in range(9)]
counts = [0] * 9
lock = threading.Lock()
def counter(i):
    def on_note(*args):
        with lock:
            counts[i] += 1
    return on_note
for i, r in enumerate(receivers):
    r.bind_receive_notification("perf.flood", counter(i))
start = time.perf_counter()
for _ in range(200):
    a.enotify_all("perf.flood")
deadline = time.time() + 60
while sum(counts) < 9 * 200 and time.time() < deadline:
    time.sleep(0.005)
rate = sum(counts) / (time.perf_counter() - start)
for c in [a, b, *receivers]:
    c.disconnect()
print(round_trip, rate)
PY
}
read -r ours_rt ours_rate < <(measure "$work/ours.lock")
read -r theirs_rt theirs_rate < <(measure "$work/theirs.lock")
ratio() { python3 -c "print(f'{$1 / $2:.3g}')"; }
printf 'round trip: skyglass %.2f ms, pyvo hub %.2f ms (ratio %s)\n' \
    "$(python3 -c "print($ours_rt*1e3)")" "$(python3 -c "print($theirs_rt*1e3)")" "$(ratio "$ours_rt" "$theirs_rt")"
printf 'throughput, 10 clients: skyglass %.0f msg/s, pyvo hub %.0f msg/s\n' "$ours_rate" "$theirs_rate"
# Throughput as seconds per message, so that the ratio reads as time like the others.
echo "samp_throughput: ours=$(python3 -c "print(1/$ours_rate)") anchor=$(python3 -c "print(1/$theirs_rate)") ratio=$(ratio "$theirs_rate" "$ours_rate")"
echo "samp_roundtrip: ours=$ours_rt anchor=$theirs_rt ratio=$(ratio "$ours_rt" "$theirs_rt")"

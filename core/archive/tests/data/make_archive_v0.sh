#!/usr/bin/env bash
# Makes archive-v0/: a data directory as the Skyglass of December 2026 wrote it, before
# archive.sqlite had layout versions, for tests/upgrade.rs, which opens it with today's code
# and uses everything in it. It was made once with that release's binary and is committed as
# it came out; run it again only to make the fixture of a new layout beside this one.
#
#   SKYGLASS=path/to/that/skyglass ./make_archive_v0.sh
#
# What it holds: a public table (catalogs.m31: IRSA's 2MASS sources near M 31, 18 rows, from
# astropy's test data), a user alice (password "alice password") with a table of her own
# (user_alice.near_m31, the same rows) shared read-only with her group "m31 team" whose member
# is bob (password "bob password"), a completed job of alice's with its result, and a
# completed anonymous job.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
skyglass="${SKYGLASS:-skyglass}"
m31="${SKYGLASS_SHARED_DATA:-$here/../../../../../shared/data}/votable/astropy/irsa-nph-m31.xml"
out="$here/archive-v0"
port=18765
base="http://127.0.0.1:$port"

rm -rf "$out"
"$skyglass" ingest --data "$out" --table catalogs.m31 "$m31"
echo "alice password" | "$skyglass" user add alice --data "$out" --password-stdin
echo "bob password" | "$skyglass" user add bob --data "$out" --password-stdin

"$skyglass" serve --data "$out" --addr "127.0.0.1:$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/tap/availability" >/dev/null && break; sleep 0.2; done

alice=(-u "alice:alice password")
curl -sf "${alice[@]}" -F TABLE_NAME=near_m31 -F TABLE_DESC="2MASS near M 31" -F "FILE=@$m31" "$base/tap-server/Upload"
echo
curl -sf "${alice[@]}" --data-binary "action=CreateOrUpdateGroup&title=m31 team&description=M 31 work" "$base/tap/share"
echo
group=$(curl -sf "${alice[@]}" "$base/tap/share?action=GetGroups" | sed -n 's/.*sharedGroup id="\([0-9]*\)".*/\1/p' | head -1)
curl -sf "${alice[@]}" --data-binary "action=CreateOrUpdateGroup&group_id=$group&title=m31 team&description=M 31 work&users_list=bob" "$base/tap/share"
echo
curl -sf "${alice[@]}" --data-binary "action=CreateOrUpdateItem&title=near_m31&description=for the team&items_list=$group|Group|Read" "$base/tap/share"
echo

run_job() {
    local location
    location=$(curl -s "$@" -o /dev/null -w '%{redirect_url}' -d LANG=ADQL -d PHASE=RUN \
        --data-urlencode "QUERY=SELECT TOP 3 designation, ra, dec FROM catalogs.m31 ORDER BY designation" "$base/tap/async")
    curl -sf "$@" "$location?WAIT=30" >/dev/null
    echo "$location"
}
run_job "${alice[@]}"
run_job

kill $server
wait $server || true
trap - EXIT
# Jobs are kept seven days; the fixture's must outlive the test suite (2100-01-01).
sqlite3 "$out/archive.sqlite" "UPDATE jobs SET destruction = 4102444800"
# The sample catalogues a server loads on a new directory are not part of the fixture.
sqlite3 "$out/archive.sqlite" "SELECT schema || '.' || name FROM tables WHERE schema IN ('catalogs', 'ivoa') AND name != 'm31'" |
    while read -r table; do "$skyglass" ingest --data "$out" --drop --table "$table" </dev/null; done
rmdir "$out"/tables/* 2>/dev/null || true
ls -R "$out"

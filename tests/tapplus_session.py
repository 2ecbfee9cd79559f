"""A user's whole session with astroquery's TapPlus and Gaia clients against `skyglass serve`
over HTTPS, as scripts written for ESA's archives run it: log in, list tables, query, upload,
flag positions, crossmatch, share with a group, a second user reading, stop sharing, delete,
jobs, log out.

Usage: python3 tapplus_session.py BASE_URL GAIA_VOTABLE (BASE_URL like https://localhost:PORT;
the server's users alice and bob have the passwords "alice password" and "bobby password",
and SSL_CERT_FILE and REQUESTS_CA_BUNDLE name the authority that signed its certificate).
"""

import socket
import sys

# Importing astroquery.gaia makes a client of ESA's own archive, which asks it for news:
# without a network that must fail, not hang.
socket.setdefaulttimeout(30)

import pyvo  # noqa: E402
from astropy.table import Table  # noqa: E402
from astroquery.gaia import GaiaClass  # noqa: E402
from astroquery.utils.tap.core import TapPlus  # noqa: E402

base, gaia_votable = sys.argv[1], sys.argv[2]


def client():
    return TapPlus(url=f"{base}/tap-server/tap", upload_context="Upload", table_edit_context="TableTool")


def table_names(tap):
    return {t.get_qualified_name() for t in tap.load_tables(only_names=True, include_shared_tables=True)}


def refused(tap, query):
    """The error text of a query the service must refuse."""
    try:
        tap.launch_job(query)
    except Exception as error:  # TapPlus raises HTTPError with the service's message
        return str(error)
    raise AssertionError(f"the service answered {query!r}")


alice = client()
alice.login(user="alice", password="alice password")
names = table_names(alice)
assert "catalogs.hipparcos" in names and "TAP_SCHEMA.tables" in names, names

# Sync, with TapPlus's own TOP 2000 added; async, polled until done.
brightest = alice.launch_job("SELECT hr, ra, dec, vmag FROM catalogs.bsc5 ORDER BY vmag").get_results()
assert len(brightest) == 2000 and brightest["hr"][0] == 2491, brightest[:3]  # Sirius first
job = alice.launch_job_async("SELECT hr, ra, dec, vmag FROM catalogs.bsc5 WHERE vmag < 2.5")
bright = job.get_results()
counted = alice.launch_job("SELECT COUNT(*) AS n FROM catalogs.bsc5 WHERE vmag < 2.5").get_results()
assert len(bright) == counted["n"][0] > 50, (len(bright), counted)

# Upload from a file (a Gaia DR3 source as ESA's archive returned it) and from the job.
alice.upload_table(upload_resource=gaia_votable, table_name="gaia_star", format="votable")
expected = Table.read(gaia_votable, format="votable")
stored = alice.launch_job("SELECT source_id, ra, dec FROM user_alice.gaia_star").get_results()
assert list(stored["source_id"]) == list(expected["SOURCE_ID"]), (stored, expected["SOURCE_ID"])
alice.upload_table_from_job(job=job, table_name="bright")
count = alice.launch_job("SELECT COUNT(*) AS n FROM user_alice.bright").get_results()
assert count["n"][0] == len(bright), (count, len(bright))

# A table uploaded for one query only (TAP_UPLOAD) still works beside the stored ones.
joined = alice.launch_job(
    "SELECT u.source_id, g.ra FROM tap_upload.mine AS u JOIN user_alice.gaia_star AS g ON u.source_id = g.source_id",
    upload_resource=gaia_votable,
    upload_table_name="mine",
).get_results()
assert list(joined["source_id"]) == list(expected["SOURCE_ID"]), joined

# Position columns: flagged (TAP+ flags 1 and 2) and indexed.
alice.set_ra_dec_columns(table_name="user_alice.bright", ra_column_name="ra", dec_column_name="dec")
flags = {c.name: str(c.flags) for c in alice.load_table("user_alice.bright").columns}
assert flags["ra"] == "1" and flags["dec"] == "2" and flags["vmag"] == "0", flags

# The Gaia client's crossmatch: a server-side call writing a table of the user's.
gaia = GaiaClass(gaia_tap_server=f"{base}/", gaia_data_server=f"{base}/", show_server_messages=False)
gaia.login(user="alice", password="alice password")
matched = gaia.cross_match(
    full_qualified_table_name_a="user_alice.bright",
    full_qualified_table_name_b="catalogs.hipparcos",
    results_table_name="bright_hip",
    radius=5.0,
)
summary = matched.get_results()
assert summary["table_name"][0] == "user_alice.bright_hip", summary
pairs = alice.launch_job("SELECT hr, hip, separation FROM user_alice.bright_hip").get_results()
# Nearly every bright star is in Hipparcos, within 5 arcsec of its J2000 position.
assert len(pairs) == summary["pairs"][0] and len(pairs) >= 0.9 * len(bright), (len(pairs), len(bright))
assert max(pairs["separation"]) <= 5.0, max(pairs["separation"])

# The Gaia client's simpler crossmatch: a DISTANCE join of both tables, as an async job.
basic = gaia.cross_match_basic(
    table_a_full_qualified_name="user_alice.bright",
    table_a_column_ra="ra",
    table_a_column_dec="dec",
    table_b_full_qualified_name="catalogs.hipparcos",
    table_b_column_ra="ra",
    table_b_column_dec="dec",
    radius=5.0,
).get_results()
assert len(basic) == len(pairs) and max(basic["separation"]) * 3600 <= 5.0, (len(basic), len(pairs))

# A table edit as update_user_table sends it (every column, one UCD changed), read back.
alice.update_user_table(table_name="user_alice.bright", list_of_changes=[["vmag", "ucd", "phot.mag;em.opt.V"]])
ucds = {c.name: c.ucd for c in alice.load_table("user_alice.bright").columns}
assert ucds["vmag"] == "phot.mag;em.opt.V" and ucds["ra"].startswith("pos.eq.ra"), ucds

# Sharing: a group with bob in it, the table shared read-only.
alice.share_group_create(group_name="observers", description="Night shift")
alice.share_group_add_user(group_name="observers", user_id="bob")
assert [u.id for u in alice.load_group(group_name="observers").users] == ["bob"]
alice.share_table(group_name="observers", table_name="user_alice.bright", description="Bright stars")
assert [s.title for s in alice.load_shared_items()] == ["user_alice.bright"]

bob = client()
bob.login(user="bob", password="bobby password")
bob_names = table_names(bob)
assert "user_alice.bright" in bob_names and "user_alice.gaia_star" not in bob_names, bob_names
shared = bob.launch_job("SELECT COUNT(*) AS n FROM user_alice.bright").get_results()
assert shared["n"][0] == len(bright), shared
# An unshared table of alice's is as absent for bob as one that never existed.
hidden = refused(bob, "SELECT * FROM user_alice.gaia_star")
absent = refused(bob, "SELECT * FROM user_alice.no_such_table")
assert hidden.replace("gaia_star", "X") == absent.replace("no_such_table", "X"), (hidden, absent)
# Nor can bob write into alice's schema.
try:
    bob.delete_user_table(table_name="user_alice.bright")
    raise AssertionError("bob deleted alice's table")
except Exception as error:
    assert "user_bob" in str(error), error

alice.share_table_stop(table_name="user_alice.bright", group_name="observers")
assert "user_alice.bright" not in table_names(bob)
refused(bob, "SELECT COUNT(*) FROM user_alice.bright")

# Without logging in: public tables only.
anonymous = client()
assert not any(n.startswith("user_") for n in table_names(anonymous))
refused(anonymous, "SELECT * FROM user_alice.bright")

# Deleting a table, finding and removing jobs.
alice.delete_user_table(table_name="gaia_star")
assert "user_alice.gaia_star" not in table_names(alice)
found = {j.jobid for j in alice.search_async_jobs()}
assert job.jobid in found, found
assert job.jobid not in {j.jobid for j in bob.list_async_jobs()}
alice.remove_jobs([job.jobid])
assert job.jobid not in {j.jobid for j in alice.list_async_jobs()}

# pyvo follows the job's location, which must say https like the service.
service = pyvo.dal.TAPService(f"{base}/tap")
first = service.run_async("SELECT TOP 3 hip FROM catalogs.hipparcos ORDER BY hip").to_table()
assert list(first["hip"]) == [1, 2, 3], first

# After logout the client keeps its cookie, which is no longer a session.
alice.logout()
assert not any(n.startswith("user_") for n in table_names(alice))
print("tapplus session: all steps passed")

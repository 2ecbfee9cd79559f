"""Builds names.tsv, the offline name index of the go-to box, from the catalogues in
shared/data/catalogs: the Yale Bright Star Catalogue (HR numbers, Bayer and Flamsteed
designations), the named bright stars of xplanet's list, and OpenNGC (NGC, IC, Messier,
addendum objects and common names).

Columns: name, RA (deg, ICRS/J2000), Dec (deg), kind. One line per name; an object with
several names has several lines. Run from the repository root:
    python3 assets/names/make_names.py
"""
import csv
from pathlib import Path

HERE = Path(__file__).parent
CATALOGS = HERE.parents[2] / "shared" / "data" / "catalogs"


def sexagesimal(text, hours):
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [float(p) for p in text.strip().lstrip("+-").split(":")]
    value = parts[0] + parts[1] / 60.0 + (parts[2] / 3600.0 if len(parts) > 2 else 0.0)
    return sign * value * (15.0 if hours else 1.0)


rows = []


def add(name, ra, dec, kind):
    name = " ".join(name.split())
    if name:
        rows.append((name, f"{ra:.6f}", f"{dec:.6f}", kind))


# Named bright stars: Dec(deg) RA(hours) "name".
for line in (CATALOGS / "bsc5" / "brightStars").read_text(encoding="utf-8").splitlines():
    if line.strip().startswith("#") or '"' not in line:
        continue
    head, name = line.split('"')[0], line.split('"')[1]
    dec, ra_hours = (float(v) for v in head.split()[:2])
    add(name, ra_hours * 15.0, dec, "star")

# Bright Star Catalogue: Dec RA(hours) Vmag "name" HR HD SAO, name = Flamsteed + Bayer + constellation.
for line in (CATALOGS / "bsc5" / "BSC").read_text(encoding="latin-1").splitlines():
    if line.startswith("#") or '"' not in line:
        continue
    head, name, tail = line.split('"', 2)
    fields = head.split()
    if len(fields) < 2:
        continue
    dec, ra = float(fields[0]), float(fields[1]) * 15.0
    numbers = tail.split()
    if numbers:
        add(f"HR {numbers[0]}", ra, dec, "star")
    if len(numbers) > 1 and numbers[1] != "0":
        add(f"HD {numbers[1]}", ra, dec, "star")
    constellation = name[-3:].strip()
    flamsteed = name[:3].strip()
    bayer = name[3:-3].strip()
    if flamsteed and constellation:
        add(f"{flamsteed} {constellation}", ra, dec, "star")
    if bayer and constellation:
        add(f"{bayer} {constellation}", ra, dec, "star")

# OpenNGC: NGC/IC objects and the addendum (Messier objects outside NGC/IC, Barnard, Caldwell, ...).
for source in ["NGC.csv", "addendum.csv"]:
    with open(CATALOGS / "openngc" / source, newline="", encoding="utf-8") as f:
        for record in csv.DictReader(f, delimiter=";"):
            if not record["RA"] or not record["Dec"] or record["Type"] in ("Dup", "NonEx"):
                continue
            ra, dec = sexagesimal(record["RA"], True), sexagesimal(record["Dec"], False)
            name = record["Name"]
            kind = record["Type"]
            for prefix in ("NGC", "IC"):
                if name.startswith(prefix) and name[len(prefix):len(prefix) + 4].isdigit():
                    number = name[len(prefix):].lstrip("0")
                    add(f"{prefix} {number}", ra, dec, kind)
                    break
            else:
                add(name, ra, dec, kind)
            if record["M"]:
                add(f"M {int(record['M'])}", ra, dec, kind)
            for common in record["Common names"].split(","):
                add(common, ra, dec, kind)

with open(HERE / "names.tsv", "w", encoding="utf-8", newline="") as f:
    f.write("# name\tra_deg\tdec_deg\tkind  (ICRS/J2000; made by make_names.py, sources in assets/CREDITS.md)\n")
    for row in rows:
        f.write("\t".join(row) + "\n")
print(len(rows), "names")

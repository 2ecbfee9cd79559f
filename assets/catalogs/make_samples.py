"""Builds the sample catalogues a fresh Skyglass archive holds, from shared/data/catalogs:
Hipparcos (new reduction, van Leeuwen 2007), OpenNGC, and the Yale Bright Star Catalogue.
Each becomes a gzipped BINARY2 VOTable with units, UCDs and descriptions, which the archive
ingests on first start. Run from the repository root with astropy installed:
    python3 assets/catalogs/make_samples.py
"""
import csv
import json
import gzip
import io
from pathlib import Path

import numpy as np
from astropy.table import Table

HERE = Path(__file__).parent
CATALOGS = HERE.parents[2] / "shared" / "data" / "catalogs"


def describe(table, column, unit=None, ucd=None, description=None):
    c = table[column]
    if unit:
        c.unit = unit
    if ucd:
        c.meta["ucd"] = ucd
    if description:
        c.description = description


def write(table, name, description):
    table.meta["description"] = description
    buffer = io.BytesIO()
    table.write(buffer, format="votable", tabledata_format="binary2")
    (HERE / f"{name}.vot.gz").write_bytes(gzip.compress(buffer.getvalue(), 9, mtime=0))
    print(name, len(table))


# Hipparcos new reduction (CDS I/311, hip2.dat): positions in radians at epoch 1991.25 (ICRS).
rows = []
with gzip.open(CATALOGS / "hipparcos2" / "hip2.dat.gz", "rt") as f:
    for line in f:
        p = line.split()
        rows.append((int(p[0]), float(p[4]), float(p[5]), float(p[6]), float(p[7]), float(p[8]), float(p[19]), float(p[23])))
hip = Table(rows=rows, names=["hip", "ra", "dec", "plx", "pmra", "pmde", "hpmag", "b_v"],
            dtype=["i4", "f8", "f8", "f4", "f4", "f4", "f4", "f4"])
hip["ra"] = np.degrees(hip["ra"])
hip["dec"] = np.degrees(hip["dec"])
describe(hip, "hip", None, "meta.id;meta.main", "Hipparcos identifier")
describe(hip, "ra", "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS, epoch 1991.25)")
describe(hip, "dec", "deg", "pos.eq.dec;meta.main", "Declination (ICRS, epoch 1991.25)")
describe(hip, "plx", "mas", "pos.parallax.trig", "Parallax")
describe(hip, "pmra", "mas/yr", "pos.pm;pos.eq.ra", "Proper motion in RA (mu_alpha cos delta)")
describe(hip, "pmde", "mas/yr", "pos.pm;pos.eq.dec", "Proper motion in Dec")
describe(hip, "hpmag", "mag", "phot.mag;em.opt", "Hipparcos magnitude Hp")
describe(hip, "b_v", "mag", "phot.color;em.opt.B;em.opt.V", "Colour index B-V")
write(hip, "hipparcos", "Hipparcos, the new reduction (van Leeuwen 2007, A&A 474, 653; CDS I/311)")


def sexagesimal(text, hours):
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [float(v) for v in text.strip().lstrip("+-").split(":")]
    value = parts[0] + parts[1] / 60 + (parts[2] / 3600 if len(parts) > 2 else 0)
    return sign * value * (15.0 if hours else 1.0)


def number(text):
    return float(text) if text.strip() else np.nan


records = []
for source in ["NGC.csv", "addendum.csv"]:
    with open(CATALOGS / "openngc" / source, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter=";"):
            if not r["RA"] or not r["Dec"]:
                continue
            records.append((r["Name"], r["Type"], sexagesimal(r["RA"], True), sexagesimal(r["Dec"], False),
                            r["Const"], number(r["MajAx"]), number(r["MinAx"]), number(r["B-Mag"]),
                            number(r["V-Mag"]), int(r["M"]) if r["M"] else -1, r["Common names"]))
ngc = Table(rows=records, names=["name", "type", "ra", "dec", "const", "majax", "minax", "bmag", "vmag", "messier", "common_names"],
            dtype=["U16", "U8", "f8", "f8", "U4", "f4", "f4", "f4", "f4", "i2", "U64"])
ngc["messier"] = np.ma.masked_array(ngc["messier"], mask=ngc["messier"] < 0)
for column in ["majax", "minax", "bmag", "vmag"]:
    ngc[column] = np.ma.masked_invalid(ngc[column])
describe(ngc, "name", None, "meta.id;meta.main", "NGC, IC or addendum designation")
describe(ngc, "type", None, "src.class", "Object type (OpenNGC codes)")
describe(ngc, "ra", "deg", "pos.eq.ra;meta.main", "Right ascension (J2000)")
describe(ngc, "dec", "deg", "pos.eq.dec;meta.main", "Declination (J2000)")
describe(ngc, "const", None, "meta.id.part", "Constellation")
describe(ngc, "majax", "arcmin", "phys.angSize", "Major axis")
describe(ngc, "minax", "arcmin", "phys.angSize", "Minor axis")
describe(ngc, "bmag", "mag", "phot.mag;em.opt.B", "B magnitude")
describe(ngc, "vmag", "mag", "phot.mag;em.opt.V", "V magnitude")
describe(ngc, "messier", None, "meta.id", "Messier number")
describe(ngc, "common_names", None, "meta.id", "Common names")
write(ngc, "openngc", "OpenNGC: NGC, IC and notable other objects (Mattia Verga, CC-BY-SA-4.0)")

records = []
for line in (CATALOGS / "bsc5" / "BSC").read_text(encoding="latin-1").splitlines():
    if line.startswith("#") or '"' not in line:
        continue
    head, name, tail = line.split('"', 2)
    fields, numbers = head.split(), tail.split()
    if len(fields) < 3 or not numbers:
        continue
    records.append((int(numbers[0]), " ".join(name.split()), float(fields[1]) * 15.0, float(fields[0]), float(fields[2])))
bsc = Table(rows=records, names=["hr", "name", "ra", "dec", "vmag"], dtype=["i4", "U16", "f8", "f8", "f4"])
describe(bsc, "hr", None, "meta.id;meta.main", "Harvard Revised (HR) number")
describe(bsc, "name", None, "meta.id", "Flamsteed and Bayer designation")
describe(bsc, "ra", "deg", "pos.eq.ra;meta.main", "Right ascension (J2000)")
describe(bsc, "dec", "deg", "pos.eq.dec;meta.main", "Declination (J2000)")
describe(bsc, "vmag", "mag", "phot.mag;em.opt.V", "V magnitude")
write(bsc, "bsc5", "The Yale Bright Star Catalogue, 5th revised edition (Hoffleit & Warren 1991; CDS V/50)")


# An ObsCore sample: every observation with an s_region in shared/data/footprints (ALMA,
# CASDA, MAST and pyvo's sample), normalised to the ObsCore columns the multi-mission overview
# asks for. Wavelengths in metres; times as MJD.
FOOTPRINTS = HERE.parents[2] / "shared" / "data" / "footprints"
OBSCORE = [
    ("obs_publisher_did", "U128", None, "meta.ref.ivoid", "Publisher's identifier of the dataset"),
    ("obs_collection", "U32", None, "meta.id", "The mission or collection"),
    ("facility_name", "U32", None, "meta.id;instr.tel", "Telescope or facility"),
    ("instrument_name", "U32", None, "meta.id;instr", "Instrument"),
    ("dataproduct_type", "U16", None, "meta.code.class", "image, cube, spectrum, timeseries..."),
    ("calib_level", "i2", None, "meta.code;obs.calib", "Calibration level (0 raw to 4 analysis)"),
    ("target_name", "U64", None, "meta.id;src", "Target name"),
    ("s_ra", "f8", "deg", "pos.eq.ra", "Central right ascension (ICRS)"),
    ("s_dec", "f8", "deg", "pos.eq.dec", "Central declination (ICRS)"),
    ("s_fov", "f8", "deg", "phys.angSize;instr.fov", "Diameter of the covered region"),
    ("s_region", "U2048", None, "pos.outline;obs.field", "Covered region (STC-S)"),
    ("t_min", "f8", "d", "time.start;obs.exposure", "Start time (MJD)"),
    ("t_max", "f8", "d", "time.end;obs.exposure", "Stop time (MJD)"),
    ("em_min", "f8", "m", "em.wl;stat.min", "Shortest wavelength"),
    ("em_max", "f8", "m", "em.wl;stat.max", "Longest wavelength"),
]


def obscore_rows(table, collection=None, facility=None):
    out = []
    for r in table:
        row = {}
        for name, dtype, *_ in OBSCORE:
            value = r[name] if name in table.colnames else None
            if value is not None and np.ma.is_masked(value):
                value = None
            if isinstance(value, bytes):
                value = value.decode()
            row[name] = value
        row["obs_collection"] = row["obs_collection"] or collection
        row["facility_name"] = row["facility_name"] or facility
        out.append(row)
    return out


def votable(path):
    return Table.read(FOOTPRINTS / path, format="votable")


rows = []
alma = votable("astroquery/alma/alma-shapes.xml")
for row in obscore_rows(alma, "ALMA", "ALMA"):
    rows.append(row)
# ALMA gives frequencies in GHz; ObsCore wants wavelengths.
for row, frequency in zip(rows, alma["frequency"]):
    if not np.ma.is_masked(frequency) and frequency > 0:
        row["em_min"] = row["em_max"] = 299792458.0 / (float(frequency) * 1e9)
    row["dataproduct_type"] = "cube"
for path in ["astroquery/casda/box.xml", "astroquery/casda/cone.xml", "pyvo/obscore-image.xml"]:
    rows.extend(obscore_rows(votable(path)))
for path in ["astroquery/mast/advSearchPos.json", "astroquery/mast/caom.json"]:
    data = json.loads((FOOTPRINTS / path).read_text())["data"]
    for r in data:
        row = {name: r.get(name) for name, *_ in OBSCORE}
        row["obs_publisher_did"] = row["obs_publisher_did"] or f"mast:{r.get('obsid')}"
        row["facility_name"] = row["facility_name"] or r.get("obs_collection")
        # MAST gives wavelengths in nm.
        for key in ("em_min", "em_max"):
            if row[key] is not None:
                row[key] = float(row[key]) * 1e-9
        rows.append(row)
rows = [r for r in rows if r["s_region"]]
columns = {}
for name, dtype, unit, ucd, description in OBSCORE:
    values = [r[name] for r in rows]
    if dtype.startswith("U"):
        columns[name] = [str(v) if v is not None else "" for v in values]
    else:
        missing = [v is None or (isinstance(v, float) and np.isnan(v)) for v in values]
        filled = [0 if m else v for v, m in zip(values, missing)]
        columns[name] = np.ma.masked_array(np.array(filled, dtype=dtype), mask=missing)
obscore = Table(columns)
for name, dtype, unit, ucd, description in OBSCORE:
    describe(obscore, name, unit, ucd, description)
write(obscore, "obscore", "ObsCore sample: ALMA, ASKAP (CASDA), HST, TESS, Kepler and others from real archive answers")

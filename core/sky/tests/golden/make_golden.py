#!/usr/bin/env python3
"""Golden values for skyglass-sky, computed by independent tools.

Frames and projections come from astropy (WCSLIB underneath for projections,
ERFA for the frame bias and the ecliptic); MOC figures come from mocpy.
The Rust tests read the CSV files written here and never our own output.

Run from this folder:  python3 make_golden.py PATH/TO/shared/data/moc
Needs: astropy >= 7, mocpy >= 0.17 (pip install astropy mocpy).
"""
import csv
import pathlib
import sys
import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import (
    FK5,
    ICRS,
    BarycentricMeanEcliptic,
    Galactic,
    SkyCoord,
    Supergalactic,
)
from astropy.wcs import WCS

HERE = pathlib.Path(__file__).parent
FMT = "{:.15g}"

FRAMES = {
    "icrs": ICRS(),
    "fk5": FK5(equinox="J2000"),
    "galactic": Galactic(),
    "ecliptic": BarycentricMeanEcliptic(equinox="J2000"),
    "supergalactic": Supergalactic(),
}


def sample_points(seed, n):
    """Points spread uniformly on the sphere, plus poles and the zero meridian."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(0.0, 360.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    fixed = [(0.0, 0.0), (0.0, 89.999), (180.0, -89.999), (359.9999, 0.5), (10.684708, 41.26875)]
    lon = np.concatenate([lon, [p[0] for p in fixed]])
    lat = np.concatenate([lat, [p[1] for p in fixed]])
    return lon, lat


def write_frames():
    lon, lat = sample_points(1, 40)
    with open(HERE / "frames.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["from", "to", "lon", "lat", "lon_out", "lat_out"])
        for src_name, src in FRAMES.items():
            coords = SkyCoord(lon * u.deg, lat * u.deg, frame=src)
            for dst_name, dst in FRAMES.items():
                if dst_name == src_name:
                    continue
                moved = coords.transform_to(dst).spherical
                for i in range(len(lon)):
                    out.writerow(
                        [src_name, dst_name, FMT.format(lon[i]), FMT.format(lat[i]),
                         FMT.format(moved.lon.deg[i]), FMT.format(moved.lat.deg[i])]
                    )


PROJECTIONS = ["SIN", "TAN", "STG", "ZEA", "ARC", "AIT", "MOL", "MER", "CAR", "HPX"]
ZENITHAL = {"SIN", "TAN", "STG", "ZEA", "ARC"}
# View centres: the origin, M31, the Galactic centre, the south celestial pole region.
CENTRES = [(0.0, 0.0), (10.684708, 41.26875), (266.40499, -28.93617), (120.0, -75.0)]


def make_wcs(proj, lon0, lat0):
    """A celestial WCS whose intermediate coordinates are the projection plane in degrees.

    LONPOLE is set so that celestial north is up at the reference point, which is
    the convention of the view camera."""
    w = WCS(naxis=2)
    w.wcs.ctype = [f"RA---{proj}", f"DEC--{proj}"]
    w.wcs.crval = [lon0, lat0]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [1.0, 1.0]
    if proj in ZENITHAL:
        w.wcs.lonpole = 180.0
    else:
        w.wcs.lonpole = 0.0 if lat0 >= 0.0 else 180.0
    w.wcs.set()
    return w


def write_projections():
    lon, lat = sample_points(2, 60)
    rng = np.random.default_rng(3)
    with open(HERE / "projections.csv", "w", newline="") as fwd, open(
        HERE / "projections_inverse.csv", "w", newline=""
    ) as inv:
        fwd_out = csv.writer(fwd, lineterminator="\n")
        inv_out = csv.writer(inv, lineterminator="\n")
        fwd_out.writerow(["proj", "lon0", "lat0", "lon", "lat", "phi", "theta", "x", "y", "valid"])
        inv_out.writerow(["proj", "lon0", "lat0", "x", "y", "lon", "lat", "valid"])
        for proj in PROJECTIONS:
            for lon0, lat0 in CENTRES:
                w = make_wcs(proj, lon0, lat0)
                for i in range(len(lon)):
                    world = np.array([[lon[i], lat[i]]])
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            res = w.wcs.s2p(world, 1)
                        ok = int(res["stat"][0]) == 0
                    except Exception:
                        ok = False
                    if ok:
                        phi, theta = res["phi"][0], res["theta"][0]
                        x, y = res["imgcrd"][0]
                        fwd_out.writerow([proj, lon0, lat0, FMT.format(lon[i]), FMT.format(lat[i]),
                                          FMT.format(phi), FMT.format(theta), FMT.format(x),
                                          FMT.format(y), 1])
                    else:
                        fwd_out.writerow([proj, lon0, lat0, FMT.format(lon[i]), FMT.format(lat[i]),
                                          "", "", "", "", 0])
                # Plane points over a box larger than every projection's domain, so
                # that the tests see both sides of each boundary.
                xs = rng.uniform(-400.0, 400.0, 60)
                ys = rng.uniform(-200.0, 200.0, 60)
                for x, y in zip(xs, ys):
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            res = w.wcs.p2s(np.array([[x, y]]), 1)
                        ok = int(res["stat"][0]) == 0 and np.all(np.isfinite(res["world"][0]))
                    except Exception:
                        ok = False
                    if ok:
                        wl, wb = res["world"][0]
                        inv_out.writerow([proj, lon0, lat0, FMT.format(x), FMT.format(y),
                                          FMT.format(wl), FMT.format(wb), 1])
                    else:
                        inv_out.writerow([proj, lon0, lat0, FMT.format(x), FMT.format(y), "", "", 0])


def write_mocs(moc_dir):
    from mocpy import MOC, STMOC, TimeMOC

    rows = []
    for path in sorted(pathlib.Path(moc_dir).rglob("*")):
        if not path.is_file() or path.suffix == ".csv":
            continue
        rel = path.relative_to(moc_dir).as_posix()
        text = path.suffix in (".txt", ".json")
        kind = None
        for cls, name in ((STMOC, "space-time"), (TimeMOC, "time"), (MOC, "space")):
            try:
                if text:
                    content = path.read_text()
                    fmt = "json" if path.suffix == ".json" else "ascii"
                    moc = cls.from_str(content) if fmt == "ascii" else cls.from_json(__import__("json").loads(content))
                else:
                    moc = cls.from_fits(str(path))
                kind = name
                break
            except Exception:
                continue
        if kind == "space":
            rows.append([rel, kind, moc.max_order, len(moc.uniq_gen), FMT.format(moc.sky_fraction), ""])
        elif kind == "time":
            duration_us = int(round(moc.total_duration.to_value(u.us)))
            rows.append([rel, kind, moc.max_order, len(moc.uniq_gen), "", duration_us])
        elif kind == "space-time":
            time_depth, space_depth = moc.max_depth
            tmin, tmax = moc.min_time, moc.max_time
            whole_time = TimeMOC.from_time_ranges(tmin, tmax + 1 * u.s)
            space = MOC.from_stmoc_time_fold(whole_time, moc)
            time = TimeMOC.from_stmoc_space_fold(MOC.from_str("0/0-11"), moc)
            rows.append([rel, kind, f"{time_depth}/{space_depth}", "",
                         FMT.format(space.sky_fraction),
                         int(round(time.total_duration.to_value(u.us)))])
    with open(HERE / "mocs.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["file", "kind", "max_order", "cells", "sky_fraction", "duration_us"])
        out.writerows(rows)


if __name__ == "__main__":
    write_frames()
    write_projections()
    if len(sys.argv) > 1:
        write_mocs(sys.argv[1])

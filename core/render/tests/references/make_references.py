"""Reference images for the renderer's tests, made from the same HiPS tiles by independent code.

For every case in cases.json, each output pixel goes through WCSLIB (astropy.wcs) to a sky
position, through astropy.coordinates to the survey's frame, and through astropy_healpix to
its HEALPix cell and the offsets (dx, dy) inside it; the tile is read with Pillow or
astropy.io.fits and sampled bilinearly. None of Skyglass's code is used. What is shared is
the definition of the view (the WCS our camera writes: CRPIX at the image centre, north up,
east left, a field of view spanning the width) and of the drawing rules a HiPS viewer
follows (deepest tile present, ancestors and the Allsky image standing in for missing ones;
cuts, stretch and colormap tables for FITS tiles).

Run from the repository root with astropy, astropy_healpix, numpy and Pillow installed:
    python3 core/render/tests/references/make_references.py
"""
import json
import math
import os
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix
from PIL import Image

HERE = Path(__file__).parent
ROOT = HERE.parents[3]
HIPS = ROOT.parent / "shared" / "data" / "hips"
COLORMAPS = ROOT / "assets" / "colormaps"
FRAMES = {"equatorial": "icrs", "galactic": "galactic", "ecliptic": "barycentricmeanecliptic"}
ZENITHAL = {"SIN", "TAN", "STG", "ZEA", "ARC"}
ALLSKY_PER_ROW = {0: 3, 1: 6, 2: 13, 3: 27}


def properties(name):
    entries = {}
    for line in (HIPS / name / "properties").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    return entries


def view_wcs(case):
    """The WCS of the view: plane coordinates in degrees, one pixel = the camera's step."""
    proj, (width, height) = case["projection"], case["size"]
    lon_name, lat_name = ("GLON", "GLAT") if case["frame"] == "galactic" else ("RA--", "DEC-")
    centre = SkyCoord(*case["center"], unit="deg", frame="icrs").transform_to(case["frame"])
    lon0, lat0 = centre.spherical.lon.deg, centre.spherical.lat.deg
    w = WCS(naxis=2)
    w.wcs.ctype = [f"{lon_name}-{proj}", f"{lat_name}-{proj}"]
    w.wcs.crval = [lon0, lat0]
    w.wcs.crpix = [1.0, 1.0]
    w.wcs.cdelt = [-1.0, 1.0]
    if proj in ZENITHAL:
        w.wcs.lonpole = 180.0
    else:
        w.wcs.lonpole = 0.0 if lat0 >= 0 else 180.0
        w.wcs.latpole = 90.0
    w.wcs.set()
    # The field of view spans the width: the half width is the plane x (in degrees) of the
    # point fov/2 from the centre along the native equator (zenithal: along a meridian),
    # by the projection formulas of Calabretta & Greisen (2002).
    half_width = math.degrees(plane_half_width(proj, math.radians(case["fov"] / 2.0)))
    step = half_width / (width / 2.0)
    w.wcs.crpix = [(width + 1) / 2.0, (height + 1) / 2.0]
    w.wcs.cdelt = [-step, step]
    w.wcs.set()
    return w


def plane_half_width(proj, half):
    if proj in ZENITHAL:
        theta = math.pi / 2 - half
        return {
            "SIN": math.cos(theta),
            "TAN": math.cos(theta) / math.sin(theta),
            "STG": 2 * math.cos(theta) / (1 + math.sin(theta)),
            "ZEA": 2 * math.sin(half / 2),
            "ARC": half,
        }[proj]
    if proj == "AIT":
        return 2 * math.sin(half / 2) / math.sqrt((1 + math.cos(half / 2)) / 2)
    if proj == "MOL":
        return 2 * math.sqrt(2) / math.pi * half
    return half  # MER, CAR, HPX: x = phi on the equator


def pixel_order(case):
    """The shallowest HEALPix order whose cells are no larger than the view's pixels."""
    pixel = math.radians(case["fov"]) / case["size"][0]
    return min(max(math.ceil(math.log2(math.sqrt(math.pi / 3.0) / pixel)), 0), 29)


def view_order(case, tile_width, min_order, max_order):
    order = min(max(pixel_order(case) - int(math.log2(tile_width)), 0), 29)
    return min(max(order, min(min_order, max_order)), max_order, 13)


def read_tile(path, fmt):
    """Tiles in the common layout: row r <-> dx, column c <-> dy."""
    if fmt == "fits":
        with fits.open(path) as hdul:
            header = hdul[0].header
            raw = hdul[0].data
            data = raw.astype(np.float64)
            # DSS2 writes BLANK as a float; astropy ignores it, so apply it here.
            blank = header.get("BLANK")
            if blank is not None and raw.dtype.kind in "iu":
                data[raw == int(blank)] = np.nan
        return data[::-1].astype(np.float32)
    image = Image.open(path).convert("RGBA")
    return np.asarray(image).astype(np.float64)


class Survey:
    def __init__(self, layer, case):
        self.name = layer["hips"]
        self.fmt = layer["format"]
        props = properties(self.name)
        self.frame = FRAMES[props.get("hips_frame", "equatorial")]
        self.tile_width = int(props.get("hips_tile_width", 512))
        self.max_order = int(props.get("hips_order", props.get("maxOrder", 3)))
        self.min_order = min(int(props.get("hips_order_min", 3)), self.max_order)
        self.order = view_order(case, self.tile_width, self.min_order, self.max_order)
        self.tiles = {}
        self.allsky_order = None
        ext = {"jpeg": "jpg", "png": "png", "fits": "fits"}[self.fmt]
        self.ext = ext
        if self.fmt != "fits":
            for order in range(min(3, self.max_order), -1, -1):
                path = HIPS / self.name / f"Norder{order}" / f"Allsky.{ext}"
                if path.exists():
                    self.allsky = np.asarray(Image.open(path).convert("RGBA")).astype(np.float64)
                    self.allsky_order = order
                    self.allsky_side = self.allsky.shape[1] // ALLSKY_PER_ROW[order]
                    break

    def tile(self, order, index):
        key = (order, index)
        if key not in self.tiles:
            path = HIPS / self.name / f"Norder{order}" / f"Dir{index // 10000 * 10000}" / f"Npix{index}.{self.ext}"
            self.tiles[key] = read_tile(path, self.fmt) if path.exists() else None
        return self.tiles[key]

    def allsky_tile(self, index):
        per_row = ALLSKY_PER_ROW[self.allsky_order]
        side = self.allsky_side
        x, y = (index % per_row) * side, (index // per_row) * side
        return self.allsky[y:y + side, x:x + side]


def bilinear(tile, dx, dy, values):
    w = tile.shape[0]
    px, py = dy * w - 0.5, dx * w - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    fx, fy = px - x0, py - y0
    xs = [min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)]
    ys = [min(max(y0, 0), w - 1), min(max(y0 + 1, 0), w - 1)]
    corners = [tile[ys[0], xs[0]], tile[ys[0], xs[1]], tile[ys[1], xs[0]], tile[ys[1], xs[1]]]
    weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy]
    if not values:
        return sum(c * wt for c, wt in zip(corners, weights))
    total, weight = 0.0, 0.0
    for c, wt in zip(corners, weights):
        if not math.isnan(c) and wt > 0:
            total += c * wt
            weight += wt
    return total / weight if weight > 0 else math.nan


def stretch(name, t):
    return {
        "linear": t,
        "sqrt": math.sqrt(t),
        "log": math.log(1000 * t + 1) / math.log(1001),
        "asinh": math.asinh(10 * t) / math.asinh(10),
        "pow2": t * t,
    }[name]


def colormap(name):
    rows = [line for line in (COLORMAPS / f"{name}.txt").read_text().splitlines() if not line.startswith("#")]
    return np.array([[int(v) for v in row.split()] for row in rows], dtype=np.float64)


def render_layer(case, layer, positions, valid):
    """RGBA (alpha 0..1) of one layer at every pixel."""
    survey = Survey(layer, case)
    coords = positions.transform_to(survey.frame)
    lon, lat = coords.spherical.lon, coords.spherical.lat
    values = survey.fmt == "fits"
    lut = colormap(layer.get("colormap", "grey")) if values else None
    out = np.zeros((len(valid), 4))
    healpix = {o: HEALPix(2**o, order="nested") for o in range(0, max(survey.order, 3) + 1)}
    # A view so wide that the Allsky has a texel per screen pixel draws the Allsky alone.
    allsky_only = survey.allsky_order is not None and pixel_order(case) <= survey.allsky_order + int(
        math.log2(survey.allsky_side)
    )
    first_order = survey.order if not allsky_only else survey.allsky_order
    for i in np.nonzero(valid)[0]:
        sample = None
        for order in range(first_order, survey.min_order - 1, -1):
            if allsky_only:
                index, dx, dy = healpix[order].lonlat_to_healpix(lon[i], lat[i], return_offsets=True)
                sample = bilinear(survey.allsky_tile(int(index)), float(dx), float(dy), values)
                break
            index, dx, dy = healpix[order].lonlat_to_healpix(lon[i], lat[i], return_offsets=True)
            tile = survey.tile(order, int(index))
            if tile is not None:
                sample = bilinear(tile, float(dx), float(dy), values)
                break
            if survey.allsky_order is not None and order == survey.allsky_order:
                sample = bilinear(survey.allsky_tile(int(index)), float(dx), float(dy), values)
                break
        if sample is None and survey.allsky_order is not None and survey.allsky_order < survey.min_order:
            index, dx, dy = healpix[survey.allsky_order].lonlat_to_healpix(lon[i], lat[i], return_offsets=True)
            sample = bilinear(survey.allsky_tile(int(index)), float(dx), float(dy), values)
        if sample is None:
            continue
        if values:
            if math.isnan(sample):
                continue
            low, high = layer["cuts"]
            t = min(max((sample - low) / (high - low), 0.0), 1.0)
            t = stretch(layer.get("stretch", "linear"), t)
            entry = int(min(max(t * 255.0 + 0.5, 0.0), 255.0))
            out[i, :3] = lut[entry]
            out[i, 3] = 1.0
        else:
            out[i, :3] = sample[:3]
            out[i, 3] = sample[3] / 255.0
    return out


def render(case):
    width, height = case["size"]
    wcs = view_wcs(case)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    # Image row 0 is the top; FITS row 1 is the bottom.
    lon, lat = wcs.wcs_pix2world(cols.ravel() + 1.0, height - rows.ravel(), 1)
    valid = np.isfinite(lon) & np.isfinite(lat)
    lon = np.where(valid, lon, 0.0)
    lat = np.where(valid, lat, 0.0)
    positions = SkyCoord(lon * u.deg, lat * u.deg, frame=case["frame"])
    image = np.zeros((width * height, 3))
    for layer in case["layers"]:
        rgba = render_layer(case, layer, positions, valid)
        alpha = rgba[:, 3:4] * layer.get("opacity", 1.0)
        if layer.get("blend", "over") == "add":
            image = np.minimum(image + rgba[:, :3] * alpha, 255.0)
        else:
            image = rgba[:, :3] * alpha + image * (1.0 - alpha)
    return np.clip(np.round(image), 0, 255).astype(np.uint8).reshape(height, width, 3)


def main():
    cases = json.loads((HERE / "cases.json").read_text())
    only = os.environ.get("ONLY")
    for case in cases:
        if only and case["name"] != only:
            continue
        image = render(case)
        Image.fromarray(image).save(HERE / f"{case['name']}.png")
        print(case["name"], image.shape)


if __name__ == "__main__":
    main()

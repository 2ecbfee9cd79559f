"""Golden values for core/hips's tests, from astropy, Pillow and astropy_healpix.

Run from the repository root: python3 core/hips/tests/golden/make_golden.py
"""
import csv
from pathlib import Path

import numpy as np
from astropy.io import fits
from PIL import Image

HERE = Path(__file__).parent
HIPS = HERE.parents[3].parent / "shared" / "data" / "hips"
FITS_TILES = [
    "DSS2Red/Norder3/Dir0/Npix448.fits",
    "DSS2Red/Norder3/Dir0/Npix451.fits",
    "Planck-HFI143/Norder3/Dir0/Npix271.fits",
    "Planck-HFI143/Norder3/Dir0/Npix307.fits",
]
# Pixels to check, as (row, column) of the tile as a viewer lays it out (FITS rows reversed).
PROBES = [(0, 0), (0, 17), (100, 3), (255, 255), (17, 200)]

with open(HERE / "fits_tiles.csv", "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["file", "width", "height", "blank_count", "min", "max", "mean"] + [f"r{r}c{c}" for r, c in PROBES])
    for name in FITS_TILES:
        with fits.open(HIPS / name) as hdul:
            header, raw = hdul[0].header, hdul[0].data
            data = raw.astype(np.float64) * header.get("BSCALE", 1.0) + header.get("BZERO", 0.0)
            # BLANK applies to integer data; DSS2 writes it as a float, which astropy ignores.
            if header.get("BLANK") is not None and raw.dtype.kind in "iu":
                data[raw == int(header["BLANK"])] = np.nan
        layout = data[::-1]
        finite = layout[np.isfinite(layout)]
        out.writerow(
            [name, layout.shape[1], layout.shape[0], int(np.isnan(layout).sum()), repr(float(finite.min())),
             repr(float(finite.max())), repr(float(finite.mean()))]
            + [repr(float(layout[r, c])) for r, c in PROBES]
        )

# Allsky: tile 448 of the FermiColor Allsky, as Pillow sees it, summed per channel.
allsky = np.asarray(Image.open(HIPS / "FermiColor/Norder3/Allsky.jpg").convert("RGBA")).astype(np.int64)
side = allsky.shape[1] // 27
with open(HERE / "allsky_tiles.csv", "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["survey", "order", "index", "side", "sum_r", "sum_g", "sum_b"])
    for index in [0, 26, 27, 448, 767]:
        x, y = (index % 27) * side, (index // 27) * side
        tile = allsky[y:y + side, x:x + side]
        out.writerow(["FermiColor", 3, index, side] + [int(tile[:, :, k].sum()) for k in range(3)])

"""Writes the colormap tables Skyglass draws FITS layers with: 256 RGB entries each.

Run with matplotlib installed: python3 assets/colormaps/make_colormaps.py
The matplotlib colormaps used here (viridis, inferno, magma, plasma, cividis, twilight) are
CC0; cubehelix is D. A. Green's formula (2011, BASI 39, 289) as matplotlib implements it;
rainbow is matplotlib's formula; grey, red, green and blue are plain ramps.
"""
from pathlib import Path

import numpy as np
from matplotlib import colormaps

HERE = Path(__file__).parent
TABLES = {
    "grey": "gray",
    "viridis": "viridis",
    "inferno": "inferno",
    "magma": "magma",
    "plasma": "plasma",
    "cividis": "cividis",
    "cubehelix": "cubehelix",
    "rainbow": "rainbow",
    "twilight": "twilight",
}

def write(name, rgb):
    lines = [f"# {name}: 256 entries, R G B in 0-255, from the lowest value to the highest"]
    lines += [" ".join(str(int(v)) for v in row) for row in rgb]
    (HERE / f"{name}.txt").write_text("\n".join(lines) + "\n")

t = np.linspace(0.0, 1.0, 256)
for name, source in TABLES.items():
    write(name, np.round(colormaps[source](t)[:, :3] * 255).astype(int))
ramp = np.round(t * 255).astype(int)
zero = np.zeros(256, dtype=int)
write("red", np.stack([ramp, zero, zero], axis=1))
write("green", np.stack([zero, ramp, zero], axis=1))
write("blue", np.stack([zero, zero, ramp], axis=1))

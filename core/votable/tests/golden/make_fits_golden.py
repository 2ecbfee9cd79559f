#!/usr/bin/env python3
"""What astropy.io.fits reads from the binary tables in shared/data: per HDU, the rows and,
per column, the sum of its finite numbers (arrays flattened, scaling applied) or its first
non-blank string. Run: python3 make_fits_golden.py PATH/TO/shared/data
"""
import csv
import pathlib
import sys
import warnings

import numpy as np
from astropy.io import fits

HERE = pathlib.Path(__file__).parent
FILES = [
    "fits/astropy/dss.14.29.56-62.41.05.fits.gz",
    "fits/healpix/bayestar.fits.gz",
    "fits/healpix/wmap_band_iqumap_r9_7yr_W_v4_udgraded32.fits",
    "timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits",
    "timeseries/sunpy/gbm.fits",
    "timeseries/sunpy/go1520110607.fits",
    "timeseries/sunpy/lyra_20150101-000000_lev3_std_truncated.fits.gz",
]


def summary(column):
    data = np.asarray(column)
    if data.dtype.kind in "iufb":
        values = data.astype(np.float64).ravel()
        return repr(float(values[np.isfinite(values)].sum()))
    if data.dtype.kind in "SU":
        for value in data.ravel():
            value = value.decode() if isinstance(value, bytes) else str(value)
            if value.strip() and "," not in value:
                return value.strip()
    return ""


def main(data):
    rows = []
    for name in FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdus = fits.open(data / name)
            for index, hdu in enumerate(hdus):
                if not isinstance(hdu, fits.BinTableHDU):
                    continue
                table = hdu.data
                for column in hdu.columns:
                    rows.append([name, index, len(table), column.name, summary(table[column.name])])
    with open(HERE / "astropy_fits_tables.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["file", "hdu", "rows", "column", "summary"])
        out.writerows(rows)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))

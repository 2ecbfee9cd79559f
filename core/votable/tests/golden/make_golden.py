#!/usr/bin/env python3
"""What astropy.io.votable reads from every VOTable in shared/data: per table, the row count
and per column the name and number of masked values. The Rust tests compare against it.

Run: python3 make_golden.py PATH/TO/shared/data   (needs astropy)
"""
import csv
import gzip
import pathlib
import sys
import warnings

import numpy as np
from astropy.io.votable import parse

HERE = pathlib.Path(__file__).parent
BROKEN_ON_PURPOSE = {"too_many_columns.xml.gz", "custom_datatype.xml"}


def is_votable(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return b"<VOTABLE" in f.read(4096)


def masked_count(column):
    mask = np.ma.getmaskarray(column)
    if mask.ndim > 1:
        # An array cell is null when the whole cell is masked.
        if mask.shape[0] == 0:
            return 0
        mask = mask.reshape(mask.shape[0], -1).all(axis=1)
    return int(mask.sum())


def summary(column):
    """A fingerprint of the values: the sum of finite unmasked numbers, or the first
    unmasked string; empty for other kinds."""
    data = np.ma.getdata(column)
    mask = np.ma.getmaskarray(column)
    if data.ndim != 1:
        return ""
    if data.dtype.kind in "iuf":
        values = data[~mask].astype(np.float64)
        values = values[np.isfinite(values)]
        return repr(float(values.sum()))
    if data.dtype.kind in "USO" and len(data):
        for value, masked in zip(data, mask):
            if not masked and isinstance(value, str) and value and "," not in value and "\n" not in value:
                return value
    return ""


def main(data):
    rows = []
    for folder in ("votable", "tap", "uws", "footprints"):
        for path in sorted((data / folder).rglob("*")):
            if not path.is_file() or path.name in BROKEN_ON_PURPOSE or not is_votable(path):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                document = parse(str(path), verify="ignore")
            for index, table in enumerate(document.iter_tables()):
                array = table.array
                for name in array.dtype.names or ():
                    rows.append([path.relative_to(data).as_posix(), index, len(array), name, masked_count(array[name]),
                                 summary(array[name])])
                if not array.dtype.names:
                    rows.append([path.relative_to(data).as_posix(), index, len(array), "", 0, ""])
    with open(HERE / "astropy_tables.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["file", "table", "rows", "column", "masked", "summary"])
        out.writerows(rows)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))

#!/usr/bin/env python3
"""astropy.io.fits reads the FITS tables Skyglass wrote: prints, for each *.fits in the
folder given, `file,rows,column,summary` per column (the summary of make_fits_golden.py),
for the Rust test to compare with the table it wrote. Exits 1 if a file does not open or
astropy's verification finds a problem."""
import csv
import pathlib
import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.units import UnitsWarning

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from make_fits_golden import summary as unmasked_summary  # noqa: E402


def summary(column):
    """As make_fits_golden.summary, without the values astropy masks (TNULL)."""
    data = np.ma.asarray(column)
    if data.dtype.kind in "iufb" and np.ma.is_masked(data):
        values = data.astype(np.float64).compressed()
        return repr(float(values[np.isfinite(values)].sum()))
    return unmasked_summary(np.ma.getdata(data))


def main(folder):
    out = csv.writer(sys.stdout, lineterminator="\n")
    status = 0
    for path in sorted(pathlib.Path(folder).glob("*.fits")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path) as hdus:
                hdus.verify("exception")
            # Table.read applies TNULL as a mask, as a user of astropy sees the table.
            table = Table.read(path, hdu=1)
            for name in table.colnames:
                out.writerow([path.name, len(table), name, summary(table[name])])
        for w in caught:
            # Units the source table carried (VOTable units FITS does not know) are copied
            # faithfully; open-file notices are not about the file.
            if issubclass(w.category, (ResourceWarning, UnitsWarning)):
                continue
            print(f"WARNING {path.name}: {w.message}", file=sys.stderr)
            status = 1
    sys.exit(status)


if __name__ == "__main__":
    main(sys.argv[1])

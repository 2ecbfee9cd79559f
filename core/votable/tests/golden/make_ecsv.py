#!/usr/bin/env python3
"""ECSV files for the tests, written by astropy from real VOTables in shared/data (there is
no ECSV among them). Run: python3 make_ecsv.py PATH/TO/shared/data (needs astropy)."""
import pathlib
import sys
import warnings

from astropy.table import Table

HERE = pathlib.Path(__file__).parent
SOURCES = {
    "gaia_result": "votable/astroquery/esa/1714556098855O-result.vot",
    "scs_result": "votable/pyvo/scs/result.xml",
    "ned_photometry": "votable/astroquery/ned/query_photometry.xml",
}

if __name__ == "__main__":
    data = pathlib.Path(sys.argv[1])
    for name, source in SOURCES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(data / source, format="votable")
        table.write(HERE.parent / "data" / "ecsv" / f"{name}.ecsv", format="ascii.ecsv", overwrite=True)

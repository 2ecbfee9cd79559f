#!/usr/bin/env python3
"""astropy.io.votable reads what Skyglass wrote: for every NAME.vot in the folder given, the
values, nulls and datatypes must equal NAME.json, which the Rust test wrote from the same
Arrow table, and astropy must raise no VOTable warning (verify='exception').

Prints one line per difference and exits 1 if there is any.
"""
import json
import math
import pathlib
import sys

import warnings

import numpy as np
from astropy.io.votable import parse


# W06 invalid UCD, W50 invalid unit, W03/W32 IDs made from names or renamed as duplicates:
# all about metadata the source files carried.
COPIED_METADATA_WARNINGS = ("W06", "W50", "W03", "W32")


def same(expected, actual, strip):
    if expected is None:
        return actual is None
    if actual is None:
        return False
    if isinstance(expected, list):
        actual = list(actual) if not isinstance(actual, (str, bytes)) else actual
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            same(e, a, strip) for e, a in zip(expected, actual)
        )
    if isinstance(expected, bool):
        return bool(actual) == expected
    if isinstance(expected, (int, float)):
        if isinstance(actual, complex):
            return False
        a, e = float(actual), float(expected)
        return (math.isnan(a) and math.isnan(e)) or a == e or abs(a - e) <= 1e-6 * max(abs(a), abs(e)) and isinstance(expected, float)
    if isinstance(expected, str) and expected in ("inf", "-inf", "NaN") and isinstance(actual, (int, float)):
        return same(float(expected), actual, strip)
    if isinstance(expected, str):
        actual = actual.decode() if isinstance(actual, bytes) else str(actual)
        return expected.strip() == actual.strip() if strip else expected == actual
    return False


def cell(column, row):
    """A cell as plain Python: None when masked, lists for arrays, [re, im] for complex."""
    value = column[row]
    if isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        # An array cell: masked elements (NaN) are values here, the row mask says null.
        row_mask = np.ma.getmaskarray(column)[row]
        if np.ndim(row_mask) == 0 and row_mask:
            return None
        # A fixed-size array cell is null when every element is masked.
        if np.ndim(row_mask) > 0 and row_mask.size and row_mask.all():
            return None
        return [cell_value(v) for v in np.ma.getdata(value).ravel()]
    if value is np.ma.masked or np.ma.is_masked(value):
        return None
    value = np.ma.getdata(value)
    if isinstance(value, np.ndarray):
        value = value.item() if value.ndim == 0 else [cell_value(v) for v in value.ravel()]
    return cell_value(value) if not isinstance(value, list) else value


def cell_value(v):
    if isinstance(v, (complex, np.complexfloating)):
        return [float(v.real), float(v.imag)]
    if isinstance(v, np.generic):
        return v.item()
    return v


def known_astropy_difference(wanted, got, strip):
    """astropy 8 ignores BINARY2 null flags on strings (reads ''), and reads an empty
    TABLEDATA cell of a variable-length array as an empty array, not null."""
    if wanted is None and got == "" and not strip:
        return True
    if wanted is None and got == [] and strip:
        return True
    return False


def check(vot, expected_path, problems):
    expected = json.loads(expected_path.read_text())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = parse(str(vot), verify="warn").get_first_table()
    for w in caught:
        text = str(w.message)
        # Unknown UCDs and units are the source data's own words, copied faithfully.
        if not any(code in text for code in COPIED_METADATA_WARNINGS):
            problems.append(f"{vot.name}: astropy warns: {text}")
    strip = expected["serialization"] == "TableData"
    for i, column in enumerate(expected["columns"]):
        field = table.fields[i]
        if field.datatype != column["datatype"]:
            problems.append(f"{vot.name} {column['name']}: datatype {field.datatype}, wrote {column['datatype']}")
        data = table.array[table.array.dtype.names[i]]
        if len(data) != len(column["cells"]):
            problems.append(f"{vot.name} {column['name']}: {len(data)} rows, wrote {len(column['cells'])}")
            continue
        for row, wanted in enumerate(column["cells"]):
            got = cell(data, row)
            if wanted is not None and isinstance(wanted, list) and got is not None and not isinstance(got, list):
                got = [got]
            if not same(wanted, got, strip) and not known_astropy_difference(wanted, got, strip):
                problems.append(f"{vot.name} {column['name']} row {row}: astropy {got!r}, wrote {wanted!r}")
                break


def main(folder):
    problems = []
    files = sorted(pathlib.Path(folder).glob("*.vot"))
    for vot in files:
        try:
            check(vot, vot.with_suffix(".json"), problems)
        except Exception as e:  # a warning raised by verify='exception' lands here too
            problems.append(f"{vot.name}: {type(e).__name__}: {e}")
    for p in problems:
        print(p)
    print(f"{len(files)} files checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv[1])

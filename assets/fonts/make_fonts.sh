#!/usr/bin/env bash
# Makes skyglass-symbols.ttf: DejaVu Sans (Debian's fonts-dejavu-core) cut to the characters
# egui's own font lacks and astronomers type or read: the primes of sexagesimal angles
# (′ ″), the degree sign, Greek (Bayer names), Cyrillic, Hebrew, combining accents, arrows
# (sort order), mathematical operators (±, ≤, ≈, √), super- and subscripts, and the letter-like
# symbols (Å, ℃). egui draws it where its own font has no glyph.
#   apt-get install fonts-dejavu-core && pip install fonttools && ./make_fonts.sh
set -euo pipefail
cd "$(dirname "$0")"
pyftsubset /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
    --unicodes="U+0020-024F,U+0300-036F,U+0370-03FF,U+0400-04FF,U+0590-05FF,U+1E00-1EFF,U+2000-206F,U+2070-209F,U+20A0-20CF,U+2100-214F,U+2190-21FF,U+2200-22FF,U+2300-23FF,U+25A0-25FF,U+2600-26FF" \
    --layout-features='*' --no-hinting --desubroutinize \
    --output-file=skyglass-symbols.ttf

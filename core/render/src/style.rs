//! How a layer of values (FITS tiles) becomes colour: cuts, a stretch, a colormap.

use std::fmt;
use std::str::FromStr;

macro_rules! colormaps {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// The colormaps, each a 256-entry table in `assets/colormaps/`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Colormap { $($variant),+ }

        impl Colormap {
            pub const ALL: &[Colormap] = &[$(Colormap::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(Colormap::$variant => $name),+ }
            }

            fn table_text(self) -> &'static str {
                match self {
                    $(Colormap::$variant => include_str!(concat!("../../../assets/colormaps/", $name, ".txt"))),+
                }
            }
        }
    };
}

colormaps! {
    Grey => "grey",
    Viridis => "viridis",
    Inferno => "inferno",
    Magma => "magma",
    Plasma => "plasma",
    Cividis => "cividis",
    Cubehelix => "cubehelix",
    Rainbow => "rainbow",
    Twilight => "twilight",
    Red => "red",
    Green => "green",
    Blue => "blue",
}

impl Colormap {
    /// 256 RGBA entries, lowest value first.
    pub fn table(self) -> [[u8; 4]; 256] {
        let mut table = [[0, 0, 0, 255]; 256];
        let rows = self.table_text().lines().filter(|line| !line.starts_with('#'));
        for (entry, line) in table.iter_mut().zip(rows) {
            for (channel, value) in entry.iter_mut().zip(line.split_whitespace()) {
                *channel = value.parse().unwrap_or(0);
            }
        }
        table
    }

    pub fn index(self) -> u32 {
        Colormap::ALL.iter().position(|c| *c == self).unwrap_or(0) as u32
    }
}

impl fmt::Display for Colormap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unknown {kind} {name:?}: expected one of {expected}")]
pub struct UnknownName {
    kind: &'static str,
    name: String,
    expected: String,
}

impl FromStr for Colormap {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Colormap, UnknownName> {
        let wanted = text.trim().to_ascii_lowercase();
        let wanted = if wanted == "gray" { "grey".to_owned() } else { wanted };
        Colormap::ALL.iter().copied().find(|c| c.name() == wanted).ok_or_else(|| UnknownName {
            kind: "colormap",
            name: text.to_owned(),
            expected: Colormap::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// The transfer function from the cut range to the colormap, as in DS9 and Aladin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Stretch {
    #[default]
    Linear,
    Sqrt,
    /// log(1000 t + 1) / log(1001)
    Log,
    /// asinh(10 t) / asinh(10)
    Asinh,
    /// t²
    Pow2,
}

impl Stretch {
    pub const ALL: [Stretch; 5] = [Stretch::Linear, Stretch::Sqrt, Stretch::Log, Stretch::Asinh, Stretch::Pow2];

    pub fn name(self) -> &'static str {
        match self {
            Stretch::Linear => "linear",
            Stretch::Sqrt => "sqrt",
            Stretch::Log => "log",
            Stretch::Asinh => "asinh",
            Stretch::Pow2 => "pow2",
        }
    }

    /// The shader's code for this stretch (see `stretch` in hips.wgsl).
    pub fn code(self) -> u32 {
        Stretch::ALL.iter().position(|s| *s == self).unwrap_or(0) as u32
    }

    /// The same function on the CPU, for tests and colour bars.
    pub fn apply(self, t: f64) -> f64 {
        match self {
            Stretch::Linear => t,
            Stretch::Sqrt => t.sqrt(),
            Stretch::Log => (1000.0 * t + 1.0).ln() / 1001f64.ln(),
            Stretch::Asinh => (10.0 * t).asinh() / 10f64.asinh(),
            Stretch::Pow2 => t * t,
        }
    }
}

impl fmt::Display for Stretch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stretch {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Stretch, UnknownName> {
        let wanted = text.trim().to_ascii_lowercase();
        Stretch::ALL.into_iter().find(|s| s.name() == wanted).ok_or_else(|| UnknownName {
            kind: "stretch",
            name: text.to_owned(),
            expected: Stretch::ALL.map(|s| s.name()).join(", "),
        })
    }
}

/// How a layer combines with the layers below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Blend {
    /// Over them, by its opacity (alpha blending).
    #[default]
    Over,
    /// Added to them, scaled by its opacity: red, green and blue bands make a colour image.
    Add,
}

impl Blend {
    pub const ALL: [Blend; 2] = [Blend::Over, Blend::Add];

    pub fn name(self) -> &'static str {
        match self {
            Blend::Over => "over",
            Blend::Add => "add",
        }
    }
}

impl FromStr for Blend {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Blend, UnknownName> {
        let wanted = text.trim().to_ascii_lowercase();
        Blend::ALL.into_iter().find(|b| b.name() == wanted).ok_or_else(|| UnknownName {
            kind: "blend mode",
            name: text.to_owned(),
            expected: "over, add".to_owned(),
        })
    }
}

/// How a layer is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerStyle {
    /// 0 (invisible) to 1 (opaque).
    pub opacity: f32,
    pub blend: Blend,
    pub colormap: Colormap,
    pub stretch: Stretch,
    pub reverse: bool,
    /// Values mapped to the ends of the colormap; `None` takes the survey's `hips_pixel_cut`.
    pub cuts: Option<[f64; 2]>,
}

impl Default for LayerStyle {
    fn default() -> Self {
        LayerStyle {
            opacity: 1.0,
            blend: Blend::Over,
            colormap: Colormap::Grey,
            stretch: Stretch::Linear,
            reverse: false,
            cuts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colormap_has_256_entries_from_its_file() {
        for colormap in Colormap::ALL {
            let rows = colormap.table_text().lines().filter(|l| !l.starts_with('#')).count();
            assert_eq!(rows, 256, "{colormap}");
        }
        assert_eq!(Colormap::Grey.table()[255], [255, 255, 255, 255]);
        assert_eq!(Colormap::Viridis.table()[0], [68, 1, 84, 255]);
    }

    #[test]
    fn names_parse_back() {
        for colormap in Colormap::ALL {
            assert_eq!(colormap.name().parse::<Colormap>(), Ok(*colormap));
        }
        for stretch in Stretch::ALL {
            assert_eq!(stretch.name().parse::<Stretch>(), Ok(stretch));
        }
        assert!("jet".parse::<Colormap>().unwrap_err().to_string().contains("viridis"));
    }

    #[test]
    fn stretches_map_the_unit_interval_onto_itself() {
        for stretch in Stretch::ALL {
            assert!((stretch.apply(0.0)).abs() < 1e-12, "{stretch}");
            assert!((stretch.apply(1.0) - 1.0).abs() < 1e-12, "{stretch}");
        }
    }
}

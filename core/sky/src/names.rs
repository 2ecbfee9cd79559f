//! Names of objects to positions, offline: an index read from a table of names (the app
//! bundles one built from the Bright Star Catalogue and OpenNGC).
//!
//! Lookups forgive how people type names: case, spaces, leading zeros (`NGC 0224`,
//! `ngc224`), Greek letters written out or as symbols (`alpha Ori`, `α Ori`, `Alp Ori`),
//! and `Messier 31` for `M 31`.

use crate::coord::LonLat;
use std::collections::HashMap;

/// A resolved name.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedObject {
    /// The name as the index writes it.
    pub name: String,
    pub position: LonLat,
    /// The catalogue's object type (e.g. `star`, `G`, `OCl`, `PN`).
    pub kind: String,
}

#[derive(Clone, Debug, Default)]
pub struct NameIndex {
    objects: Vec<NamedObject>,
    by_key: HashMap<String, usize>,
}

impl NameIndex {
    /// Reads `name <TAB> ra_deg <TAB> dec_deg <TAB> kind` lines (ICRS); `#` starts a comment.
    /// Malformed lines are skipped; the first entry of a name wins.
    pub fn parse(table: &str) -> NameIndex {
        let mut index = NameIndex::default();
        for line in table.lines().filter(|line| !line.starts_with('#')) {
            let mut fields = line.split('\t');
            let (Some(name), Some(ra), Some(dec)) = (fields.next(), fields.next(), fields.next()) else { continue };
            let kind = fields.next().unwrap_or("").to_owned();
            let (Ok(ra), Ok(dec)) = (ra.parse::<f64>(), dec.parse::<f64>()) else { continue };
            let Ok(position) = LonLat::from_degrees(ra, dec) else { continue };
            let key = normalize(name);
            if key.is_empty() || index.by_key.contains_key(&key) {
                continue;
            }
            index.by_key.insert(key, index.objects.len());
            index.objects.push(NamedObject { name: name.to_owned(), position, kind });
        }
        index
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn resolve(&self, query: &str) -> Option<&NamedObject> {
        self.by_key.get(&normalize(query)).and_then(|i| self.objects.get(*i))
    }

    /// Up to `limit` names starting with what was typed, shortest first (for completion).
    pub fn suggest(&self, prefix: &str, limit: usize) -> Vec<&NamedObject> {
        let wanted = normalize(prefix);
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<(&String, usize)> =
            self.by_key.iter().filter(|(key, _)| key.starts_with(&wanted)).map(|(k, i)| (k, *i)).collect();
        found.sort_by_key(|(key, _)| (key.len(), (*key).clone()));
        found.into_iter().take(limit).filter_map(|(_, i)| self.objects.get(i)).collect()
    }
}

const GREEK: &[(&str, &str, &str)] = &[
    ("alpha", "α", "alp"),
    ("beta", "β", "bet"),
    ("gamma", "γ", "gam"),
    ("delta", "δ", "del"),
    ("epsilon", "ε", "eps"),
    ("zeta", "ζ", "zet"),
    ("eta", "η", "eta"),
    ("theta", "θ", "the"),
    ("iota", "ι", "iot"),
    ("kappa", "κ", "kap"),
    ("lambda", "λ", "lam"),
    ("mu", "μ", "mu"),
    ("nu", "ν", "nu"),
    ("xi", "ξ", "xi"),
    ("omicron", "ο", "omi"),
    ("pi", "π", "pi"),
    ("rho", "ρ", "rho"),
    ("sigma", "σ", "sig"),
    ("tau", "τ", "tau"),
    ("upsilon", "υ", "ups"),
    ("phi", "φ", "phi"),
    ("chi", "χ", "chi"),
    ("psi", "ψ", "psi"),
    ("omega", "ω", "ome"),
];

/// The lookup key of a name: lower case, Greek letters as three-letter abbreviations,
/// `messier` as `m`, no spaces, no leading zeros in numbers.
pub fn normalize(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in name.split_whitespace() {
        let lower = word.to_lowercase();
        let mut replaced = lower.clone();
        for (full, symbol, short) in GREEK {
            if lower == *full || lower.starts_with(symbol) {
                replaced = lower.replacen(if lower == *full { full } else { symbol }, short, 1);
                break;
            }
        }
        if replaced == "messier" {
            replaced = "m".to_owned();
        }
        words.push(replaced);
    }
    let joined: String = words.concat();
    // Drop leading zeros of each run of digits: NGC0224 and NGC 224 are one object.
    let mut key = String::with_capacity(joined.len());
    let mut previous_is_digit = false;
    let chars: Vec<char> = joined.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if *c == '0' && !previous_is_digit && next_is_digit {
            continue;
        }
        previous_is_digit = c.is_ascii_digit();
        key.push(*c);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "# name\tra\tdec\tkind\nNGC 224\t10.684792\t41.269056\tG\nM 31\t10.684792\t41.269056\tG\n\
                         Alp Ori\t88.7925\t7.4069\tstar\nbroken line\nM 1\tx\t1\tSNR\n";

    #[test]
    fn names_are_found_however_they_are_typed() {
        let index = NameIndex::parse(TABLE);
        assert_eq!(index.len(), 3);
        for query in ["M31", "m 31", "Messier 31", "M031", "NGC 224", "ngc0224", "NGC224"] {
            let found = index.resolve(query).unwrap_or_else(|| panic!("{query}"));
            assert!((found.position.lon().degrees() - 10.684792).abs() < 1e-9, "{query}");
        }
        for query in ["Alp Ori", "alpha Ori", "α Ori", "ALPHA ORI"] {
            assert_eq!(index.resolve(query).map(|o| o.name.as_str()), Some("Alp Ori"), "{query}");
        }
        assert!(index.resolve("M 3").is_none());
        assert!(index.resolve("").is_none());
    }

    #[test]
    fn suggestions_complete_a_prefix() {
        let index = NameIndex::parse(TABLE);
        let names: Vec<&str> = index.suggest("m", 5).iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["M 31"]);
        assert!(index.suggest("", 5).is_empty());
    }
}

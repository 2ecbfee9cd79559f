//! HiPS discovery: HiPS lists (the `hipslist` files servers publish, and the CDS MocServer's
//! answers in the same text form or as JSON), and the well-known surveys Skyglass offers.

use std::collections::BTreeMap;

/// One survey of a HiPS list: its properties, and the facts a chooser shows.
#[derive(Clone, Debug, PartialEq)]
pub struct HipsListEntry {
    /// `ID` (or `creator_did` without its `ivo://`).
    pub id: String,
    pub title: String,
    /// `hips_service_url`, then its mirrors (`hips_service_url_1`, `_2`, …), in that order.
    pub urls: Vec<String>,
    /// `obs_regime`: Optical, Infrared, Radio, X-ray, Gamma-ray, UV, …
    pub regime: Option<String>,
    pub properties: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HipsListError {
    #[error("HiPS list: not JSON ({0})")]
    Json(String),
    #[error("HiPS list: expected a JSON array of records")]
    NotAnArray,
}

/// A HiPS list in its text form: records of `key = value` lines separated by blank lines.
/// Records without a service URL (nothing to open) are left out.
pub fn parse_hips_list(text: &str) -> Vec<HipsListEntry> {
    let mut entries = Vec::new();
    let mut record = BTreeMap::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.is_empty() {
            if !record.is_empty() {
                entries.extend(entry_from(std::mem::take(&mut record)));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            // A key repeated in one record keeps its first value (the service's own).
            record.entry(key.trim().to_owned()).or_insert_with(|| value.trim().to_owned());
        }
    }
    entries
}

/// The CDS MocServer's JSON answer: an array of records whose values are strings or arrays
/// of strings (the first is kept).
pub fn parse_hips_list_json(text: &str) -> Result<Vec<HipsListEntry>, HipsListError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| HipsListError::Json(e.to_string()))?;
    let serde_json::Value::Array(records) = value else { return Err(HipsListError::NotAnArray) };
    let mut entries = Vec::new();
    for record in records {
        let serde_json::Value::Object(fields) = record else { continue };
        let mut map = BTreeMap::new();
        for (key, value) in fields {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => match items.into_iter().next() {
                    Some(serde_json::Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => continue,
                },
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            map.insert(key, text);
        }
        entries.extend(entry_from(map));
    }
    Ok(entries)
}

fn entry_from(properties: BTreeMap<String, String>) -> Option<HipsListEntry> {
    let mut mirrors: Vec<(u32, &String)> = properties
        .iter()
        .filter_map(|(key, value)| {
            let rest = key.strip_prefix("hips_service_url")?;
            let rank = if rest.is_empty() { 0 } else { rest.strip_prefix('_')?.parse::<u32>().ok()? + 1 };
            Some((rank, value))
        })
        .collect();
    mirrors.sort();
    let urls: Vec<String> = mirrors.into_iter().map(|(_, url)| url.trim_end_matches('/').to_owned()).collect();
    if urls.is_empty() {
        return None;
    }
    let id = properties
        .get("ID")
        .cloned()
        .or_else(|| properties.get("creator_did").map(|did| did.trim_start_matches("ivo://").to_owned()))
        .unwrap_or_else(|| urls[0].clone());
    let title = ["obs_title", "obs_collection", "label"]
        .iter()
        .find_map(|key| properties.get(*key).cloned())
        .unwrap_or_else(|| id.clone());
    let regime = properties.get("obs_regime").cloned();
    Some(HipsListEntry { id, title, urls, regime, properties })
}

/// A survey Skyglass offers out of the box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnownSurvey {
    pub title: &'static str,
    pub regime: &'static str,
    /// The CDS or ESA service first, then mirrors.
    pub urls: &'static [&'static str],
}

/// Well-known all-sky surveys at their public CDS (Strasbourg) and ESA (ESAC) HiPS servers,
/// shortest wavelength first.
pub const KNOWN_SURVEYS: &[KnownSurvey] = &[
    KnownSurvey {
        title: "Fermi LAT colour",
        regime: "Gamma-ray",
        urls: &["https://alasky.cds.unistra.fr/Fermi/Color"],
    },
    KnownSurvey { title: "XMM-Newton EPIC pn colour", regime: "X-ray", urls: &["https://saada.unistra.fr/PNColor"] },
    KnownSurvey {
        title: "GALEX GR6/7 colour",
        regime: "UV",
        urls: &["https://alasky.cds.unistra.fr/GALEX/GALEXGR6_7_color"],
    },
    KnownSurvey {
        title: "DSS2 colour",
        regime: "Optical",
        urls: &["https://alasky.cds.unistra.fr/DSS/DSSColor", "https://skies.esac.esa.int/DSSColor"],
    },
    KnownSurvey {
        title: "DSS2 red (FITS)",
        regime: "Optical",
        urls: &["https://alasky.cds.unistra.fr/DSS/DSS2Merged"],
    },
    KnownSurvey {
        title: "Pan-STARRS DR1 colour",
        regime: "Optical",
        urls: &["https://alasky.cds.unistra.fr/Pan-STARRS/DR1/color-z-zg-g"],
    },
    KnownSurvey { title: "SDSS9 colour", regime: "Optical", urls: &["https://alasky.cds.unistra.fr/SDSS/DR9/color"] },
    KnownSurvey { title: "Mellinger colour", regime: "Optical", urls: &["https://alasky.cds.unistra.fr/MellingerRGB"] },
    KnownSurvey {
        title: "Hα (Finkbeiner, FITS)",
        regime: "Optical",
        urls: &["https://alasky.cds.unistra.fr/FinkbeinerHalpha"],
    },
    KnownSurvey { title: "2MASS colour", regime: "Infrared", urls: &["https://alasky.cds.unistra.fr/2MASS/Color"] },
    KnownSurvey {
        title: "AllWISE colour",
        regime: "Infrared",
        urls: &["https://alasky.cds.unistra.fr/AllWISE/RGB-W4-W2-W1", "https://skies.esac.esa.int/AllWISEColor"],
    },
    KnownSurvey {
        title: "Spitzer IRAC colour",
        regime: "Infrared",
        urls: &["https://alasky.cds.unistra.fr/SpitzerI1I2I4color"],
    },
    KnownSurvey { title: "IRIS colour", regime: "Infrared", urls: &["https://alasky.cds.unistra.fr/IRISColor"] },
    KnownSurvey {
        title: "Herschel PACS 160 µm",
        regime: "Infrared",
        urls: &["https://skies.esac.esa.int/Herschel/normalized/PACS_hips160"],
    },
    KnownSurvey {
        title: "AKARI FIS colour",
        regime: "Infrared",
        urls: &["https://alasky.cds.unistra.fr/AKARI-FIS/ColorLSN60"],
    },
    KnownSurvey {
        title: "Planck HFI 143 GHz",
        regime: "Millimeter",
        urls: &["https://alasky.cds.unistra.fr/PLANCK/HFI143"],
    },
];

/// The survey a viewer with a network shows first: a colour optical one.
pub const DEFAULT_ONLINE_SURVEY: &str = "DSS2 colour";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_on_blank_lines_and_mirrors_follow_the_main_url() {
        let text = "ID = A/1\nobs_title = First\nhips_service_url_1 = http://mirror/a\nhips_service_url = http://main/a/\n\n\
                    # a comment\nID = B/2\nobs_regime = Radio\n\nID = C/3\nhips_service_url = http://c\n";
        let entries = parse_hips_list(text);
        // B has no URL: nothing to open.
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].urls, vec!["http://main/a", "http://mirror/a"]);
        assert_eq!((entries[0].id.as_str(), entries[0].title.as_str()), ("A/1", "First"));
        assert_eq!(entries[1].title, "C/3");
    }

    #[test]
    fn mocserver_json_records() {
        let json = r#"[{"ID":"CDS/P/DSS2/color","obs_title":"DSS colored","hips_service_url":"http://alasky/DSS",
                       "hips_service_url_1":["http://mirror/DSS"],"obs_regime":"Optical","moc_sky_fraction":1}]"#;
        let entries = parse_hips_list_json(json).unwrap();
        assert_eq!(entries[0].urls, vec!["http://alasky/DSS", "http://mirror/DSS"]);
        assert_eq!(entries[0].regime.as_deref(), Some("Optical"));
        assert_eq!(entries[0].properties["moc_sky_fraction"], "1");
        assert!(parse_hips_list_json("{}").is_err());
        assert!(parse_hips_list_json("not json").is_err());
    }

    #[test]
    fn the_default_online_survey_is_known() {
        assert!(KNOWN_SURVEYS.iter().any(|s| s.title == DEFAULT_ONLINE_SURVEY));
        for survey in KNOWN_SURVEYS {
            assert!(!survey.urls.is_empty() && survey.urls.iter().all(|u| u.starts_with("https://")), "{survey:?}");
        }
    }
}

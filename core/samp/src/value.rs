//! SAMP's data: strings, lists and maps, nothing else (SAMP 1.3 §3.3).

use std::collections::BTreeMap;

pub type Map = BTreeMap<String, SampValue>;

#[derive(Clone, Debug, PartialEq)]
pub enum SampValue {
    String(String),
    List(Vec<SampValue>),
    Map(Map),
}

impl SampValue {
    pub fn str(value: impl Into<String>) -> SampValue {
        SampValue::String(value.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            SampValue::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            SampValue::Map(map) => Some(map),
            _ => None,
        }
    }

    /// A map's entry, for reading messages (`message.get("samp.mtype")`).
    pub fn get(&self, key: &str) -> Option<&SampValue> {
        self.as_map().and_then(|map| map.get(key))
    }

    /// A rough size in bytes, for keeping queues bounded.
    pub fn size(&self) -> usize {
        match self {
            SampValue::String(text) => text.len() + 8,
            SampValue::List(items) => items.iter().map(SampValue::size).sum::<usize>() + 8,
            SampValue::Map(map) => map.iter().map(|(k, v)| k.len() + v.size()).sum::<usize>() + 8,
        }
    }
}

impl From<&str> for SampValue {
    fn from(text: &str) -> SampValue {
        SampValue::String(text.to_owned())
    }
}

impl From<String> for SampValue {
    fn from(text: String) -> SampValue {
        SampValue::String(text)
    }
}

impl From<Map> for SampValue {
    fn from(map: Map) -> SampValue {
        SampValue::Map(map)
    }
}

impl From<Vec<SampValue>> for SampValue {
    fn from(items: Vec<SampValue>) -> SampValue {
        SampValue::List(items)
    }
}

/// A map from pairs: `map([("samp.mtype", "samp.app.ping".into())])`.
pub fn map<const N: usize>(entries: [(&str, SampValue); N]) -> SampValue {
    SampValue::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

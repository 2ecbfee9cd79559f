//! Caches of tile files: a size-limited LRU on disk (survives restarts, so a sky seen once
//! is there offline) and a small one in memory (panning back costs no disk read).
//!
//! Files are written to a temporary name and renamed, so a crash never leaves half a tile;
//! a file's modification time is its last use, so the order survives restarts too.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Default size of the disk cache.
pub const DEFAULT_DISK_BYTES: u64 = 2 << 30;
/// Default size of the memory cache of tile files (compressed, as fetched).
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;

/// The platform's cache folder for HiPS tiles (e.g. `~/.cache/skyglass/hips` on Linux).
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "Skyglass", "skyglass").map(|dirs| dirs.cache_dir().join("hips"))
}

struct Entry {
    bytes: u64,
    used: SystemTime,
}

struct Index {
    /// Built on first use by scanning the folder.
    entries: Option<HashMap<PathBuf, Entry>>,
    total: u64,
}

/// A folder of cached files under a byte limit, least recently used evicted first.
pub struct DiskCache {
    root: PathBuf,
    limit: u64,
    index: Mutex<Index>,
}

impl DiskCache {
    pub fn new(root: PathBuf, limit: u64) -> DiskCache {
        DiskCache { root, limit, index: Mutex::new(Index { entries: None, total: 0 }) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cached file, if any; marks it used.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path_of(key)?;
        let bytes = fs::read(&path).ok()?;
        let now = SystemTime::now();
        // Best effort: an unchanged time only makes this file a little older in the LRU order.
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(now);
        }
        let mut index = self.lock();
        if let Some(entry) = self.entries(&mut index).get_mut(&path) {
            entry.used = now;
        }
        Some(bytes)
    }

    /// Stores a file, then evicts the least recently used ones while over the limit.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let Some(path) = self.path_of(key) else { return };
        let Some(parent) = path.parent() else { return };
        if fs::create_dir_all(parent).is_err() {
            return;
        }
        let partial = path.with_extension("partial");
        if fs::write(&partial, bytes).is_err() || fs::rename(&partial, &path).is_err() {
            let _ = fs::remove_file(&partial);
            return;
        }
        let mut index = self.lock();
        let entries = self.entries(&mut index);
        let previous = entries.insert(path, Entry { bytes: bytes.len() as u64, used: SystemTime::now() });
        let total = index.total + bytes.len() as u64 - previous.map_or(0, |e| e.bytes);
        index.total = total;
        self.evict(&mut index);
    }

    /// Bytes held now.
    pub fn total_bytes(&self) -> u64 {
        let mut index = self.lock();
        self.entries(&mut index);
        index.total
    }

    fn evict(&self, index: &mut Index) {
        if index.total <= self.limit {
            return;
        }
        let Some(entries) = index.entries.as_mut() else { return };
        let mut by_age: Vec<(SystemTime, PathBuf, u64)> =
            entries.iter().map(|(path, entry)| (entry.used, path.clone(), entry.bytes)).collect();
        by_age.sort();
        // Down to 90% of the limit, so that eviction does not run on every write.
        let target = self.limit / 10 * 9;
        for (_, path, bytes) in by_age {
            if index.total <= target {
                break;
            }
            if fs::remove_file(&path).is_ok() || !path.exists() {
                entries.remove(&path);
                index.total = index.total.saturating_sub(bytes);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn entries<'a>(&self, index: &'a mut Index) -> &'a mut HashMap<PathBuf, Entry> {
        if index.entries.is_none() {
            let mut entries = HashMap::new();
            scan(&self.root, &mut entries);
            index.total = entries.values().map(|e| e.bytes).sum();
            index.entries = Some(entries);
        }
        index.entries.get_or_insert_with(HashMap::new)
    }

    /// Keys are relative paths made of safe parts only: no way out of the cache folder.
    fn path_of(&self, key: &str) -> Option<PathBuf> {
        let mut path = self.root.clone();
        for part in key.split('/') {
            let safe = !part.is_empty()
                && part != "."
                && part != ".."
                && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !safe {
                return None;
            }
            path.push(part);
        }
        Some(path)
    }
}

fn scan(dir: &Path, entries: &mut HashMap<PathBuf, Entry>) {
    let Ok(listing) = fs::read_dir(dir) else { return };
    for item in listing.flatten() {
        let Ok(metadata) = item.metadata() else { continue };
        let path = item.path();
        if metadata.is_dir() {
            scan(&path, entries);
        } else if path.extension().is_some_and(|e| e == "partial") {
            // Left by a crash mid-write.
            let _ = fs::remove_file(&path);
        } else {
            let used = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            entries.insert(path, Entry { bytes: metadata.len(), used });
        }
    }
}

/// Files by key, their order of use (oldest first), and their total size.
type MemoryEntries = (HashMap<String, std::sync::Arc<Vec<u8>>>, VecDeque<String>, usize);

/// A byte-limited LRU of files in memory.
pub struct MemoryCache {
    limit: usize,
    inner: Mutex<MemoryEntries>,
}

impl MemoryCache {
    pub fn new(limit: usize) -> MemoryCache {
        MemoryCache { limit, inner: Mutex::new((HashMap::new(), VecDeque::new(), 0)) }
    }

    pub fn get(&self, key: &str) -> Option<std::sync::Arc<Vec<u8>>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let found = inner.0.get(key).cloned()?;
        let (_, order, _) = &mut *inner;
        if let Some(position) = order.iter().position(|k| k == key) {
            order.remove(position);
        }
        order.push_back(key.to_owned());
        Some(found)
    }

    pub fn put(&self, key: &str, bytes: std::sync::Arc<Vec<u8>>) {
        if bytes.len() > self.limit {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (map, order, total) = &mut *inner;
        if let Some(old) = map.insert(key.to_owned(), bytes.clone()) {
            *total -= old.len();
            if let Some(position) = order.iter().position(|k| k == key) {
                order.remove(position);
            }
        }
        *total += bytes.len();
        order.push_back(key.to_owned());
        while *total > self.limit {
            let Some(oldest) = order.pop_front() else { break };
            if let Some(old) = map.remove(&oldest) {
                *total -= old.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skyglass-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn disk_cache_keeps_under_its_limit_evicting_the_least_recently_used() {
        let dir = temp_dir("lru");
        let cache = DiskCache::new(dir.clone(), 1000);
        cache.put("a/one.jpg", &[1; 400]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put("a/two.jpg", &[2; 400]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(cache.get("a/one.jpg").map(|b| b.len()), Some(400));
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.put("b/three.jpg", &[3; 400]);
        // 1200 > 1000: "two" was used longest ago and goes.
        assert!(cache.get("a/two.jpg").is_none());
        assert!(cache.get("a/one.jpg").is_some() && cache.get("b/three.jpg").is_some());
        assert!(cache.total_bytes() <= 1000);
        // A new cache on the same folder finds what is there.
        assert_eq!(DiskCache::new(dir.clone(), 1000).total_bytes(), 800);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keys_cannot_leave_the_cache_folder() {
        let dir = temp_dir("escape");
        let cache = DiskCache::new(dir.clone(), 1000);
        for key in ["../x", "a/../../x", "/etc/passwd", "a//b", "a/b c"] {
            cache.put(key, b"x");
            assert!(cache.get(key).is_none(), "{key}");
        }
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn memory_cache_is_byte_limited() {
        let cache = MemoryCache::new(10);
        cache.put("a", std::sync::Arc::new(vec![0; 6]));
        cache.put("b", std::sync::Arc::new(vec![0; 6]));
        assert!(cache.get("a").is_none() && cache.get("b").is_some());
        cache.put("huge", std::sync::Arc::new(vec![0; 11]));
        assert!(cache.get("huge").is_none());
    }
}

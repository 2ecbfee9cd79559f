//! The Standard Profile lockfile (SAMP 1.3 §4.2): where it is, what it says, and writing it
//! so that a live hub is never displaced and a dead one's file is replaced.

use crate::SampError;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The lockfile this session's hub and clients use: the file named by
/// `SAMP_HUB=std-lockurl:file://…`, else `.samp` in the home directory.
pub fn default_path() -> Result<PathBuf, SampError> {
    if let Ok(hub) = std::env::var("SAMP_HUB") {
        let Some(url) = hub.strip_prefix("std-lockurl:") else {
            return Err(SampError::Lockfile(format!("SAMP_HUB={hub:?} does not start with std-lockurl:")));
        };
        return file_url_path(url)
            .ok_or_else(|| SampError::Lockfile(format!("SAMP_HUB names {url:?}, not a file:// URL")));
    }
    let home = directories::BaseDirs::new()
        .map(|dirs| dirs.home_dir().to_path_buf())
        .ok_or_else(|| SampError::Lockfile("no home directory for the .samp lockfile".to_owned()))?;
    Ok(home.join(".samp"))
}

fn file_url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    // file:///tmp/x and file://localhost/tmp/x both name /tmp/x.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    path.starts_with('/').then(|| PathBuf::from(percent_decode(path)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A lockfile's `key=value` lines (comments and blank lines skipped).
pub fn read(path: &Path) -> Result<BTreeMap<String, String>, SampError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SampError::Lockfile(format!("cannot read {}: {e}", path.display())))?;
    Ok(parse(&text))
}

pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// Writes the lockfile for a hub at `url` with `secret`, readable by its owner only. The
/// file must not exist (the caller has checked any old one is a dead hub's and removed it):
/// of two hubs starting at once, one wins.
pub fn write(path: &Path, url: &str, secret: &str) -> Result<(), SampError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => SampError::HubRunning(path.display().to_string()),
        _ => SampError::Lockfile(format!("cannot write {}: {e}", path.display())),
    })?;
    let text = format!(
        "# SAMP Standard Profile lockfile written by the Skyglass hub\n\
         samp.secret={secret}\n\
         samp.hub.xmlrpc.url={url}\n\
         samp.profile.version=1.3\n\
         hub.label=Skyglass\n"
    );
    file.write_all(text.as_bytes()).map_err(|e| SampError::Lockfile(format!("cannot write {}: {e}", path.display())))
}

/// Removes the lockfile if it is still ours (it names our secret).
pub fn remove_if_ours(path: &Path, secret: &str) {
    if read(path).is_ok_and(|keys| keys.get("samp.secret").map(String::as_str) == Some(secret)) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfiles_read_as_the_standard_writes_them() {
        let keys = parse(
            "# comment\nsamp.secret=734144fdaab8400a1ec2\nsamp.hub.xmlrpc.url=http://127.0.0.1:8001/xmlrpc\n\nsamp.profile.version=1.2\n",
        );
        assert_eq!(keys["samp.secret"], "734144fdaab8400a1ec2");
        assert_eq!(keys["samp.hub.xmlrpc.url"], "http://127.0.0.1:8001/xmlrpc");
        assert_eq!(file_url_path("file:///tmp/a%20b/.samp"), Some(PathBuf::from("/tmp/a b/.samp")));
        assert_eq!(file_url_path("file://localhost/tmp/x"), Some(PathBuf::from("/tmp/x")));
        assert_eq!(file_url_path("http://example.org/x"), None);
    }
}

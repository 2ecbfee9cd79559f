#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ARCHITECTURE.md's crate graph is the workspace's: every normal dependency between the
//! workspace's crates is written there, and nothing else is, so an arrow cannot be added (or
//! dropped) without the map saying so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Each crate (by its folder, `app` or `core/NAME`) and the crates it depends on, by
/// their short names (`NAME`).
type Graph = BTreeMap<String, Vec<String>>;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the app crate is in the workspace")
}

/// The graph as the ```crate-graph block of ARCHITECTURE.md writes it: `FOLDER -> a b c`.
fn documented() -> Graph {
    let text = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = text.split("```crate-graph\n").nth(1).and_then(|rest| rest.split("```").next());
    let block = block.expect("ARCHITECTURE.md has a ```crate-graph block");
    block
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, deps) = line.split_once("->").unwrap_or_else(|| panic!("{line:?} is not `FOLDER -> deps`"));
            let mut deps: Vec<String> = deps.split_whitespace().map(str::to_owned).collect();
            deps.sort();
            (name.trim().to_owned(), deps)
        })
        .collect()
}

/// The graph as `cargo metadata` finds it: normal dependencies (not dev or build ones)
/// between the workspace's packages.
fn actual() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let root = workspace_root().canonicalize().expect("the workspace root");
    let packages = metadata["packages"].as_array().expect("packages");
    let folder_of: BTreeMap<&str, String> = packages
        .iter()
        .map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str().expect("manifest_path"));
            let folder = manifest.parent().expect("a folder").strip_prefix(&root).expect("inside the workspace");
            (package["name"].as_str().expect("name"), folder.to_string_lossy().replace('\\', "/"))
        })
        .collect();
    let short = |folder: &str| folder.rsplit('/').next().unwrap_or(folder).to_owned();
    packages
        .iter()
        .map(|package| {
            let mut deps: Vec<String> = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|dep| dep["kind"].is_null())
                .filter_map(|dep| folder_of.get(dep["name"].as_str()?))
                .map(|folder| short(folder))
                .collect();
            deps.sort();
            deps.dedup();
            (folder_of[package["name"].as_str().expect("name")].clone(), deps)
        })
        .collect()
}

#[test]
fn the_crate_graph_in_architecture_md_is_the_workspaces() {
    let (documented, actual) = (documented(), actual());
    for (krate, deps) in &actual {
        let written = documented.get(krate);
        assert_eq!(
            written,
            Some(deps),
            "{krate} depends on {deps:?}, ARCHITECTURE.md says {written:?}: change the ```crate-graph block with the design"
        );
    }
    for krate in documented.keys() {
        assert!(actual.contains_key(krate), "ARCHITECTURE.md names {krate}, which is not a crate of the workspace");
    }
}

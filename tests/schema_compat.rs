//! Schema evolution: every registered version stays compatible with the newest (both ways), and
//! a published schema file is never edited — checked against its previous committed version.

use std::process::Command;

use apache_avro::Schema;
use galley::schema::{Registry, check_compatibility, compare};

#[test]
fn registered_versions_are_backward_and_forward_compatible() {
    let report = check_compatibility(Registry::builtin());
    assert!(report.is_ok(), "{:#?}", report.problems);
}

/// The previous committed text of `path`, if git and history are available.
fn previous_committed(path: &str) -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let log = Command::new("git")
        .args(["-C", root, "log", "--format=%H", "-n", "2", "--", path])
        .output()
        .ok()?;
    let commits: Vec<String> = String::from_utf8(log.stdout).ok()?.lines().map(str::to_owned).collect();
    // Compare the working tree against HEAD's version; if HEAD's is the working text, against the one before.
    let current = std::fs::read_to_string(format!("{root}/{path}")).ok()?;
    for c in &commits {
        let show = Command::new("git")
            .args(["-C", root, "show", &format!("{c}:{path}")])
            .output()
            .ok()?;
        let text = String::from_utf8(show.stdout).ok()?;
        if show.status.success() && text != current {
            return Some(text);
        }
    }
    None
}

#[test]
fn each_schema_file_is_compatible_with_its_previous_committed_version() {
    let registry = Registry::builtin();
    let mut compared = 0;
    for name in registry.names() {
        for entry in registry.versions(name) {
            let path = format!("schemas/{}", entry.file);
            let Some(old) = previous_committed(&path) else { continue };
            let old = Schema::parse_str(&old).unwrap_or_else(|e| panic!("previous {path} does not parse: {e}"));
            let problems = compare(&path, &old, &entry.schema);
            assert!(
                problems.is_empty(),
                "{path} changed incompatibly since its last commit (publish a new version file instead): {problems:?}"
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} schema files against their previous committed versions");
}

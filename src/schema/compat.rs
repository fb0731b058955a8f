//! Schema evolution checks: every version of a name must be readable by the newest (backward)
//! and the newest must be readable by every older version (forward), so producers and consumers
//! can be upgraded in either order.

use apache_avro::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;

use super::registry::Registry;

/// Result of comparing every registered version against the newest of its name.
#[derive(Debug, Default)]
pub struct CompatReport {
    /// Pairs checked, as `name vN -> vM`.
    pub checked: Vec<String>,
    /// Human-readable problems; empty means compatible.
    pub problems: Vec<String>,
}

impl CompatReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks backward and forward compatibility of two schema versions; returns the problems.
pub fn compare(label: &str, old: &Schema, new: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = SchemaCompatibility::can_read(old, new) {
        problems.push(format!("{label}: new reader cannot read old data (backward): {e}"));
    }
    if let Err(e) = SchemaCompatibility::can_read(new, old) {
        problems.push(format!("{label}: old reader cannot read new data (forward): {e}"));
    }
    problems
}

/// Checks every older version of every name against its newest version.
pub fn check_compatibility(registry: &Registry) -> CompatReport {
    let mut report = CompatReport::default();
    for name in registry.names() {
        let versions = registry.versions(name);
        let Some(newest) = versions.last() else { continue };
        for old in &versions[..versions.len() - 1] {
            let label = format!("{name} v{} -> v{}", old.version, newest.version);
            report.problems.extend(compare(&label, &old.schema, &newest.schema));
            report.checked.push(label);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Schema {
        Schema::parse_str(s).unwrap()
    }

    #[test]
    fn adding_a_field_with_default_is_compatible_both_ways() {
        let v1 = parse(r#"{"type":"record","name":"A","fields":[{"name":"a","type":"string"}]}"#);
        let v2 = parse(
            r#"{"type":"record","name":"A","fields":[{"name":"a","type":"string"},
                {"name":"b","type":["null","string"],"default":null}]}"#,
        );
        assert!(compare("A", &v1, &v2).is_empty());
    }

    #[test]
    fn adding_a_required_field_breaks_backward_compatibility() {
        let v1 = parse(r#"{"type":"record","name":"A","fields":[{"name":"a","type":"string"}]}"#);
        let v2 = parse(
            r#"{"type":"record","name":"A","fields":[{"name":"a","type":"string"},
                {"name":"b","type":"string"}]}"#,
        );
        let problems = compare("A", &v1, &v2);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("backward"));
    }

    #[test]
    fn builtin_schemas_are_compatible() {
        let report = check_compatibility(Registry::builtin());
        assert!(report.is_ok(), "{:?}", report.problems);
    }
}

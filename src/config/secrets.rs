//! Secrets kept out of what Galley prints. librdkafka names a misspelt property with its value
//! (`No such configuration property: "sasl.pasword" ... hunter2`), and a TOML syntax error
//! quotes the line it stopped at, which may hold a password. So every loaded configuration's
//! property values and model key are remembered here, and every error the binary prints is
//! scrubbed of them; TOML errors lose their quoted lines (line and column stay).

use std::sync::Mutex;

use super::GalleyConfig;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Values shorter than this are not scrubbed: they are flags and numbers, and replacing "1"
/// everywhere would garble messages.
const MIN_SECRET_LEN: usize = 4;

/// Remembers the values `cfg` holds that may be secret: every `[kafka.properties]` value (a
/// misspelt key is not known to be a secret one), the model's API key and the secrets
/// `[kafka.security]` read from the environment.
pub fn remember(cfg: &GalleyConfig) {
    let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let values = cfg
        .kafka
        .properties
        .values()
        .cloned()
        .chain(cfg.model.key())
        .chain(cfg.kafka.security.secrets().map(str::to_owned))
        .chain(Some(cfg.schema_registry.password.expose().to_owned()))
        .filter(|v| v.len() >= MIN_SECRET_LEN);
    for v in values {
        if !secrets.contains(&v) {
            secrets.push(v);
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `message` with every remembered value replaced by `****`.
pub fn scrub(message: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    secrets
        .iter()
        .fold(message.to_owned(), |m, s| m.replace(s.as_str(), "****"))
}

/// A TOML error without the source lines it quotes (`2 | "sasl.password" = "hunt`) or their
/// markers (`  |       ^`).
pub fn without_excerpts(error: &str) -> String {
    error
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let digits = t.trim_start_matches(|c: char| c.is_ascii_digit());
            !digits.trim_start().starts_with('|')
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_values_and_toml_excerpts_never_reach_a_message() {
        let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
        cfg.kafka
            .properties
            .insert("sasl.pasword".into(), "hunter2-secret".into());
        cfg.model.api_key = "sk-live-abc".into();
        remember(&cfg);
        let msg = "No such configuration property: \"sasl.pasword\" sasl.pasword hunter2-secret (key sk-live-abc)";
        let clean = scrub(msg);
        assert!(!clean.contains("hunter2") && !clean.contains("sk-live"), "{clean}");
        let toml = "TOML parse error at line 2, column 27\n  |\n2 | \"sasl.password\" = \"hunter2\n  |                           ^\ninvalid basic string";
        assert_eq!(
            without_excerpts(toml),
            "TOML parse error at line 2, column 27\ninvalid basic string"
        );
    }
}

//! Settings of the reviewer console (`[console]`). Its topics are the review stage's
//! (`stages.review.review`, `.decisions`, `.products`), so the two cannot disagree.

use serde::Deserialize;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the review queue.
    Reviewer,
    /// Also sees the rollout page.
    Admin,
}

/// One console login. Create the hash with `galley console --hash-password`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Login name; also the reviewer id on decisions and audit events.
    pub user: String,
    /// Argon2 PHC string (`$argon2id$...`).
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user", &self.user)
            .field("password_hash", &"***")
            .field("role", &self.role)
            .finish()
    }
}

/// Reviewer console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct ConsoleConfig {
    pub listen: String,
    pub session_ttl_s: u64,
    pub secure_cookies: bool,
    pub table_load_timeout_ms: u64,
    pub accounts: Vec<Account>,
    pub login: LoginConfig,
}

/// Login throttling (`[console.login]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct LoginConfig {
    pub max_concurrent_checks: usize,
    pub free_failures: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub tracked: usize,
    pub client_ip_header: String,
}

impl ConsoleConfig {
    /// Problems with the settings, each naming its key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            if a.user.trim().is_empty() || a.user.chars().any(|c| c.is_control() || c == ':') {
                bad.push(format!(
                    "console.accounts[{i}].user {:?} must be a non-empty name without ':'",
                    a.user
                ));
            }
            if !a.password_hash.starts_with("$argon2") {
                bad.push(format!(
                    "console.accounts[{i}].password_hash for {:?} is not an argon2 hash; create one with `galley console --hash-password`",
                    a.user
                ));
            }
            if self.accounts[..i].iter().any(|b| b.user == a.user) {
                bad.push(format!("console.accounts[{i}].user {:?} appears twice", a.user));
            }
        }
        let l = &self.login;
        if l.max_concurrent_checks == 0 || l.tracked == 0 {
            bad.push("console.login.max_concurrent_checks and console.login.tracked must be above 0".into());
        }
        if l.base_delay_ms > l.max_delay_ms {
            bad.push("console.login.base_delay_ms must not exceed console.login.max_delay_ms".into());
        }
        if !l.client_ip_header.is_empty() && axum::http::HeaderName::try_from(l.client_ip_header.as_str()).is_err() {
            bad.push(format!(
                "console.login.client_ip_header {:?} is not a header name",
                l.client_ip_header
            ));
        }
        if self.session_ttl_s == 0 {
            bad.push("console.session_ttl_s must be above 0".into());
        }
        bad
    }
}

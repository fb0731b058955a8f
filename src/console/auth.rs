//! Logins, sessions and CSRF tokens. Passwords are checked against argon2 hashes from config;
//! a session is a random token in an HttpOnly, SameSite=Strict cookie, held in memory (a
//! restart logs everyone out), and carries its own CSRF token that every form posts back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::config::{Account, Role};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "galley_session";
/// Name of the cookie holding the login form's CSRF token (before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "galley_login_csrf";

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Login name.
    pub user: String,
    /// What they may do.
    pub role: Role,
    /// The token every form of this session must post as `csrf`.
    pub csrf: String,
    expires: Instant,
}

/// Accounts and live sessions.
pub struct Auth {
    accounts: Vec<Account>,
    sessions: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    secure: bool,
    /// Password checks running now, and the most that ever ran at once (the login throttle's
    /// bound on memory, checked by its probe test).
    checking: AtomicUsize,
    peak_checking: AtomicUsize,
    /// Signs login-form tokens, so a token is one this console issued (per process: a restart
    /// makes open login forms stale, as it ends sessions).
    secret: [u8; 32],
}

/// Longest password checked; a longer one fails without being hashed.
pub const MAX_PASSWORD: usize = 1024;

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // Without the OS's random source no session could be safe; nothing sensible to go on with.
    getrandom::fill(&mut b).expect("the operating system's random source");
    b
}

/// 32 random bytes as hex.
///
/// # Panics
/// When the operating system has no random source.
pub fn token() -> String {
    random::<32>().iter().map(|x| format!("{x:02x}")).collect()
}

/// An argon2id PHC string for `password`, for `[[console.accounts]]`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random::<16>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Constant-time comparison, so a CSRF token cannot be guessed byte by byte from timings.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Auth {
    /// Accounts from config; sessions last `ttl`; `secure` marks cookies Secure.
    pub fn new(accounts: Vec<Account>, ttl: Duration, secure: bool) -> Self {
        Auth {
            accounts,
            sessions: Mutex::new(HashMap::new()),
            ttl,
            secure,
            secret: random::<32>(),
            checking: AtomicUsize::new(0),
            peak_checking: AtomicUsize::new(0),
        }
    }

    /// The most password checks that ever ran at once in this console.
    pub fn peak_concurrent_checks(&self) -> usize {
        self.peak_checking.load(Ordering::Relaxed)
    }

    /// A token for the login form: a random nonce and its keyed hash, 64 hex characters.
    pub fn login_token(&self) -> String {
        let nonce = random::<16>();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        format!("{}{}", hex(&nonce), hex(&self.tag(&nonce)))
    }

    /// Whether `t` is a login token this console issued.
    pub fn valid_login_token(&self, t: &str) -> bool {
        let bytes: Option<Vec<u8>> = (t.len() == 64 && t.is_ascii())
            .then(|| {
                (0..32)
                    .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        let Some(bytes) = bytes else { return false };
        let tag = self.tag(&bytes[..16]);
        bytes[16..].iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    fn tag(&self, nonce: &[u8]) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(self.secret)
            .chain_update(nonce)
            .chain_update(self.secret)
            .finalize();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&digest[..16]);
        tag
    }

    /// Whether any account exists (without one, nobody can log in, and the console says so).
    pub fn has_accounts(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// Checks a login; on success opens a session and returns its token. Unknown users cost an
    /// argon2 verification too, so timings do not tell which names exist.
    pub fn login(&self, user: &str, password: &str) -> Option<String> {
        if password.len() > MAX_PASSWORD {
            return None;
        }
        let account = self.accounts.iter().find(|a| a.user == user);
        let hash = account.map_or(DUMMY_HASH, |a| a.password_hash.as_str());
        let now = self.checking.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_checking.fetch_max(now, Ordering::Relaxed);
        let ok =
            PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        self.checking.fetch_sub(1, Ordering::Relaxed);
        let account = account.filter(|_| ok)?;
        let t = token();
        let session = Session {
            user: account.user.clone(),
            role: account.role,
            csrf: token(),
            expires: Instant::now() + self.ttl,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > Instant::now());
        sessions.insert(t.clone(), session);
        Some(t)
    }

    /// The live session of a `Cookie` header.
    pub fn session(&self, cookie_header: &str) -> Option<Session> {
        let t = cookie(cookie_header, SESSION_COOKIE)?;
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.get(t).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// Ends the session of a `Cookie` header.
    pub fn logout(&self, cookie_header: &str) {
        if let Some(t) = cookie(cookie_header, SESSION_COOKIE) {
            self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(t);
        }
    }

    /// A `Set-Cookie` value for `name` (empty `value` clears it).
    pub fn set_cookie(&self, name: &str, value: &str) -> String {
        let age = if value.is_empty() { 0 } else { self.ttl.as_secs() };
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}")
    }
}

/// A valid argon2 hash of a random password, verified against when the user is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$J1Hn1YtCzVGNV9hWbGe0DRRSqBTMkZQX8GwUHe2lPAc";

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        let account = Account {
            user: "ana".into(),
            password_hash: hash_password("correct horse").unwrap(),
            role: Role::Reviewer,
        };
        Auth::new(vec![account], Duration::from_secs(60), true)
    }

    #[test]
    fn a_session_needs_the_right_password_and_ends_on_logout() {
        let a = auth();
        assert!(a.login("ana", "wrong").is_none());
        assert!(a.login("bob", "correct horse").is_none());
        let t = a.login("ana", "correct horse").unwrap();
        let header = format!("other=1; {SESSION_COOKIE}={t}");
        let s = a.session(&header).unwrap();
        assert_eq!((s.user.as_str(), s.role, s.csrf.len()), ("ana", Role::Reviewer, 64));
        assert!(a.session(&format!("{SESSION_COOKIE}={}", token())).is_none());
        a.logout(&header);
        assert!(a.session(&header).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_configured() {
        let c = auth().set_cookie(SESSION_COOKIE, "abc");
        assert_eq!(
            c,
            "galley_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}

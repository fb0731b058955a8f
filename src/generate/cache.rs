//! The draft cache: an unchanged input with an unchanged prompt, model and parameters costs no
//! tokens. Bounded (least recently used goes first) and per process; a restart starts cold.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;
use sha2::{Digest, Sha256};

use super::facts::hex16;
use super::{GeneratedText, Prompt};

/// What a cache hit returns: the text and who originally wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedDraft {
    /// The copy.
    pub text: GeneratedText,
    /// Model that wrote it.
    pub model: String,
}

/// `hash(input fingerprint, prompt id@version, model, sampling parameters)`.
pub fn cache_key(fingerprint: &str, prompt: &Prompt, model: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        fingerprint,
        &prompt.id(),
        model,
        &format!("t={};max={}", prompt.temperature, prompt.max_tokens),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex16(&h.finalize())
}

/// A bounded LRU map from [`cache_key`] to model-written drafts; shared by every task.
pub struct DraftCache {
    entries: Option<Mutex<LruCache<String, CachedDraft>>>,
}

impl DraftCache {
    /// A cache holding at most `capacity` drafts; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        DraftCache {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut LruCache<String, CachedDraft>) -> R) -> Option<R> {
        // A poisoned lock only means another task panicked mid-update; an LRU map stays valid.
        self.entries
            .as_ref()
            .map(|m| f(&mut m.lock().unwrap_or_else(|p| p.into_inner())))
    }

    /// The draft stored under `key`, if any (and marks it recently used).
    pub fn get(&self, key: &str) -> Option<CachedDraft> {
        self.with(|c| c.get(key).cloned()).flatten()
    }

    /// Stores a model-written draft. Fallback copy is never cached: it would hide the model's
    /// recovery from every later record of the same input.
    pub fn put(&self, key: String, draft: CachedDraft) {
        self.with(|c| c.put(key, draft));
    }
}

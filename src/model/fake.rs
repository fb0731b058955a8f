//! A fake OpenAI-compatible model server under test control: fixed latency, 429 with
//! Retry-After, 5xx, hangs and malformed JSON, scripted per request. Tests, benchmarks and the
//! demo use it on 127.0.0.1 with a free port; it speaks the same HTTP as a real endpoint, so the
//! client is exercised end to end.
//!
//! Its answers are built only from the prompt's own lines (title, brand, `- key: value` facts),
//! so drafts it writes pass the grounding checks, like a well-behaved model's.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// How the server answers a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// A completion after the configured latency.
    Ok,
    /// This HTTP status with a short error body.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// Never answers (until the client gives up).
    Hang,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with this exact content.
    Reply(String),
    /// 200 whose chunked body never ends (a broken proxy, a model streaming forever).
    Endless,
    /// This status with a body of this many bytes (declared in Content-Length).
    Huge(u16, usize),
    /// A completion reporting these prompt and completion token counts.
    Usage(u64, u64),
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it arrived.
    pub at: Instant,
    /// How it was answered.
    pub behaviour: Behaviour,
    /// The user message.
    pub user: String,
    /// The bearer key sent, if any.
    pub key: Option<String>,
}

struct Control {
    latency: Duration,
    standing: Option<Behaviour>,
    script: VecDeque<Behaviour>,
    seen: Vec<Seen>,
    /// Record each request in `seen`; off, only `requests` counts, so a long run stays flat.
    keep_seen: bool,
    requests: usize,
    /// Requests being answered right now, and the most there ever were at once.
    open: usize,
    max_open: usize,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            latency: Duration::ZERO,
            standing: None,
            script: VecDeque::new(),
            seen: Vec::new(),
            keep_seen: true,
            requests: 0,
            open: 0,
            max_open: 0,
        }
    }
}

/// A running fake server; stops when dropped.
pub struct FakeModel {
    addr: SocketAddr,
    control: Arc<Mutex<Control>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    /// Starts on a free port of 127.0.0.1, answering `Ok` with no latency.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: &str) -> std::io::Result<Self> {
        let control = Arc::new(Mutex::new(Control::default()));
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .route("/health", get(|| async { "ok" }))
            .with_state(control.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeModel { addr, control, task })
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Base URL for `model.base_url` (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every answer waits this long first.
    pub fn set_latency(&self, latency: Duration) {
        self.control().latency = latency;
    }

    /// Answers every request (after the script) like this.
    pub fn set(&self, behaviour: Behaviour) {
        self.control().standing = Some(behaviour);
    }

    /// The next requests are answered by these, in order, before the standing behaviour.
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.control().script.extend(behaviours);
    }

    /// Requests seen so far (none recorded while [`FakeModel::keep_seen`] is off).
    pub fn seen(&self) -> Vec<Seen> {
        self.control().seen.clone()
    }

    /// Whether to record every request for [`FakeModel::seen`] (on by default). Benchmarks
    /// and soaks turn it off, so the server's memory does not grow with the run.
    pub fn keep_seen(&self, keep: bool) {
        self.control().keep_seen = keep;
    }

    /// How many requests arrived, recorded or not.
    pub fn requests(&self) -> usize {
        self.control().requests
    }

    /// The most requests that were open (arrived, not yet answered) at once.
    pub fn max_open(&self) -> usize {
        self.control().max_open
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn complete(State(control): State<Arc<Mutex<Control>>>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let message = |role: &str| {
        request["messages"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["role"] == role))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (system, user) = (message("system"), message("user"));
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let (behaviour, latency) = {
        let mut c = control.lock().unwrap_or_else(|p| p.into_inner());
        let b = c
            .script
            .pop_front()
            .or_else(|| c.standing.clone())
            .unwrap_or(Behaviour::Ok);
        c.requests += 1;
        c.open += 1;
        c.max_open = c.max_open.max(c.open);
        if c.keep_seen {
            c.seen.push(Seen {
                at: Instant::now(),
                behaviour: b.clone(),
                user: user.clone(),
                key,
            });
        }
        (b, c.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    control.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
    match behaviour {
        Behaviour::Ok => completion(&system, &user, copy_from(&system, &user)),
        Behaviour::Reply(text) => completion(&system, &user, text),
        Behaviour::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, r#"{"error":{"message":"fake failure"}}"#).into_response()
        }
        Behaviour::RateLimited(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            r#"{"error":{"message":"slow down"}}"#,
        )
            .into_response(),
        Behaviour::Hang => {
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behaviour::Malformed => (StatusCode::OK, "{\"choices\": [ this is not json").into_response(),
        Behaviour::Endless => {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
            let body = futures::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(chunk.clone()));
            (StatusCode::OK, axum::body::Body::from_stream(body)).into_response()
        }
        Behaviour::Huge(code, bytes) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            (status, vec![b' '; bytes]).into_response()
        }
        Behaviour::Usage(prompt, completion) => {
            let body = json!({
                "choices": [{"message": {"role": "assistant", "content": copy_from(&system, &user)}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
            });
            ([("content-type", "application/json")], body.to_string()).into_response()
        }
    }
}

fn completion(system: &str, user: &str, text: String) -> Response {
    let tokens = |s: &str| s.len().div_ceil(4);
    let body = json!({
        "id": "fake-1",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": tokens(system) + tokens(user),
            "completion_tokens": tokens(&text),
            "total_tokens": tokens(system) + tokens(user) + tokens(&text),
        },
    });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

/// Grounded copy from the prompt's lines: the product and its facts, nothing else.
/// Copy that reads like its use case, made only from what the prompt gives (Galley's prompts:
/// `prompts/*.toml`), so the checks find nothing to flag in it.
fn copy_from(system: &str, user: &str) -> String {
    let field = |name: &str| {
        user.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // "- Title by Brand (price)" lines of the blurb and email prompts, without the price.
    let products: Vec<&str> = user
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter(|l| !l.contains(": "))
        .map(|l| l.rsplit_once(" (").map_or(l, |(t, _)| t).trim())
        .take(3)
        .collect();
    if user.starts_with("Write a homepage blurb") {
        // Interests are category paths ("Electronics > Mobile Accessories"): their leaves read.
        let interests: Vec<String> = field("Write a homepage blurb")
            .and_then(|l| l.split_once("interested in:"))
            .map(|(_, i)| i.trim().trim_end_matches('.'))
            .unwrap_or("new arrivals")
            .split(", ")
            .map(|path| path.rsplit(" > ").next().unwrap_or(path).to_lowercase())
            .collect();
        return format!(
            "Picked for shoppers who like {}: {}. Take a look at what just arrived.",
            interests.join(" and "),
            products.join(", ")
        );
    }
    if user.starts_with("Write an email") {
        return format!(
            "Subject: Picked for you\nHello! We picked a few things we think you will like: {}. \
             Each one is in stock today, and you can see every detail on its page.",
            products.join(", ")
        );
    }
    if user.starts_with("A customer sent this") {
        return "Thank you for your message. A colleague will check the details and reply to you \
                shortly."
            .to_owned();
    }
    let facts: Vec<String> = user
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_once(": "))
        .take(4)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let mut text = match (field("Product:").or(field("Title:")), field("Brand:")) {
        (Some(t), Some(b)) if !b.is_empty() => format!("{t} by {b}."),
        (Some(t), _) => format!("{t}."),
        _ => "Thank you for your message.".to_owned(),
    };
    if !facts.is_empty() {
        text.push_str(&format!(" It comes with {}.", facts.join(", ")));
    }
    if system.contains("Subject:") {
        text = format!("Subject: Picked for you\n{text}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::copy_from;

    #[test]
    fn each_use_case_gets_copy_that_reads_like_it() {
        let products = "- Slim Power Bank by VoltCell (USD 29.00)\n- Travel Mug by Ember (USD 12.00)\n";
        let blurb = copy_from(
            "You write one short, friendly homepage line",
            &format!(
                "Write a homepage blurb in en-US for shoppers interested in: Electronics > Mobile Accessories.\nProducts to feature:\n{products}"
            ),
        );
        assert!(
            blurb.contains("mobile accessories") && blurb.contains("Slim Power Bank by VoltCell"),
            "{blurb}"
        );
        assert!(!blurb.contains("USD"), "a blurb names no prices: {blurb}");
        let email = copy_from(
            "Answer in exactly this form:\nSubject: <one line>",
            &format!("Write an email in en-US for the segment \"mugs\" featuring:\n{products}"),
        );
        assert!(
            email.starts_with("Subject: ") && email.contains("Travel Mug by Ember"),
            "{email}"
        );
        let reply = copy_from(
            "You draft replies",
            "A customer sent this product question (in en-US):\nIs it safe?",
        );
        assert!(reply.starts_with("Thank you for your message."), "{reply}");
        let description = copy_from(
            "You write short product descriptions",
            "Product: Travel Mug\nBrand: Ember\nFacts:\n- capacity: 350 ml\n",
        );
        assert_eq!(description, "Travel Mug by Ember. It comes with capacity 350 ml.");
    }
}

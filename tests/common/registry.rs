//! A Confluent-compatible Schema Registry for tests: the endpoints Galley and the Confluent
//! clients call (register, look up under a subject, fetch by id, latest of a subject), ids
//! assigned from 1 as a real registry does — so they collide with Galley's built-in ids, which is
//! what a test must prove harmless — and switches that make every request fail or hang, for
//! outages.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[derive(Default)]
struct Store {
    /// id -> (schema text, schema type).
    schemas: BTreeMap<u32, (String, Option<String>)>,
    /// subject -> ids, oldest first.
    subjects: BTreeMap<String, Vec<u32>>,
}

#[derive(Clone, Default)]
struct Shared {
    store: Arc<Mutex<Store>>,
    /// Non-zero: every request answers this status.
    fail: Arc<AtomicU16>,
    /// Set: every request waits a minute before it is answered.
    hang: Arc<AtomicBool>,
}

/// A running test registry.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Shared,
}

fn same(a: &str, b: &str) -> bool {
    let canon = |s: &str| apache_avro::Schema::parse_str(s).map(|x| x.canonical_form()).ok();
    match (canon(a), canon(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Store {
    fn register(&mut self, subject: &str, schema: &str, kind: Option<String>) -> u32 {
        let existing = self
            .schemas
            .iter()
            .find(|(_, (s, k))| *k == kind && same(s, schema))
            .map(|(id, _)| *id);
        let id = existing.unwrap_or_else(|| {
            let id = self.schemas.keys().last().map_or(1, |k| k + 1);
            self.schemas.insert(id, (schema.to_owned(), kind));
            id
        });
        let ids = self.subjects.entry(subject.to_owned()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        id
    }

    fn version(&self, subject: &str, id: u32) -> Value {
        let ids = &self.subjects[subject];
        let version = ids.iter().position(|i| *i == id).unwrap_or(0) + 1;
        json!({"subject": subject, "id": id, "version": version, "schema": self.schemas[&id].0})
    }
}

/// A JSON body, as the registry API answers (axum is built without its `json` feature).
fn js(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/vnd.schemaregistry.v1+json")],
        v.to_string(),
    )
        .into_response()
}

fn not_found(code: u32, message: &str) -> Response {
    js(StatusCode::NOT_FOUND, json!({"error_code": code, "message": message}))
}

async fn failing(s: &Shared) -> Option<Response> {
    if s.hang.load(Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    let status = s.fail.load(Ordering::Relaxed);
    (status != 0).then(|| {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        js(code, json!({"error_code": 50003, "message": "test outage"}))
    })
}

fn body_schema(body: &str) -> (String, Option<String>) {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let schema = v["schema"].as_str().unwrap_or_default().to_owned();
    let kind = v["schemaType"].as_str().map(str::to_owned).filter(|k| k != "AVRO");
    (schema, kind)
}

async fn register(State(s): State<Shared>, Path(subject): Path<String>, body: String) -> Response {
    if let Some(r) = failing(&s).await {
        return r;
    }
    let (schema, kind) = body_schema(&body);
    let id = s.store.lock().unwrap().register(&subject, &schema, kind);
    js(StatusCode::OK, json!({"id": id}))
}

async fn lookup(State(s): State<Shared>, Path(subject): Path<String>, body: String) -> Response {
    if let Some(r) = failing(&s).await {
        return r;
    }
    let (schema, _) = body_schema(&body);
    let store = s.store.lock().unwrap();
    let Some(ids) = store.subjects.get(&subject) else {
        return not_found(40401, "Subject not found");
    };
    match ids.iter().find(|id| same(&store.schemas[id].0, &schema)) {
        Some(id) => js(StatusCode::OK, store.version(&subject, *id)),
        None => not_found(40403, "Schema not found"),
    }
}

async fn by_id(State(s): State<Shared>, Path(id): Path<u32>) -> Response {
    if let Some(r) = failing(&s).await {
        return r;
    }
    match s.store.lock().unwrap().schemas.get(&id) {
        Some((schema, kind)) => {
            let mut v = json!({"schema": schema});
            if let Some(k) = kind {
                v["schemaType"] = json!(k);
            }
            js(StatusCode::OK, v)
        }
        None => not_found(40403, "Schema not found"),
    }
}

async fn latest(State(s): State<Shared>, Path(subject): Path<String>) -> Response {
    if let Some(r) = failing(&s).await {
        return r;
    }
    let store = s.store.lock().unwrap();
    match store.subjects.get(&subject).and_then(|ids| ids.last()) {
        Some(id) => js(StatusCode::OK, store.version(&subject, *id)),
        None => not_found(40401, "Subject not found"),
    }
}

impl TestRegistry {
    /// Serves a fresh, empty registry on a free local port.
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/subjects/{subject}/versions/latest", get(latest))
            .route("/subjects/{subject}", post(lookup))
            .route("/schemas/ids/{id}", get(by_id))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestRegistry {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// Registers `schema` under `subject` as an upstream would; returns its id.
    pub fn register(&self, subject: &str, schema: &str) -> u32 {
        self.shared.store.lock().unwrap().register(subject, schema, None)
    }

    /// Registers a schema of another type (e.g. `JSON`) under `subject`.
    pub fn register_typed(&self, subject: &str, schema: &str, kind: &str) -> u32 {
        self.shared
            .store
            .lock()
            .unwrap()
            .register(subject, schema, Some(kind.to_owned()))
    }

    /// The schema text of `id`.
    pub fn schema(&self, id: u32) -> Option<String> {
        self.shared.store.lock().unwrap().schemas.get(&id).map(|s| s.0.clone())
    }

    /// The newest schema text under `subject`.
    pub fn schema_of(&self, subject: &str) -> Option<String> {
        let store = self.shared.store.lock().unwrap();
        let id = store.subjects.get(subject)?.last()?;
        store.schemas.get(id).map(|s| s.0.clone())
    }

    /// Subjects registered so far.
    pub fn subjects(&self) -> Vec<String> {
        self.shared.store.lock().unwrap().subjects.keys().cloned().collect()
    }

    /// Makes every request wait a minute (`false`: answer at once again).
    pub fn hang(&self, on: bool) {
        self.shared.hang.store(on, Ordering::Relaxed);
    }

    /// Makes every request answer `status` (0: answer normally again).
    pub fn fail_with(&self, status: u16) {
        self.shared.fail.store(status, Ordering::Relaxed);
    }
}

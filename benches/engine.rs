//! Micro-benchmarks of the pure engine on the host (`cargo bench --bench engine`).
//!
//! * `decide/…`: what the filter's VM does per request besides host calls: pick the headers
//!   (`Request::from_pairs`), `Policy::decide`, and for a forwarded request
//!   `Policy::response_edits` on a typical response; for the small and the large policy and
//!   the four request kinds of `bench/run`.
//! * `glue/…`: the same plus the work the glue adds in the VM: decoding the host's header
//!   buffers (`wire::decode_map`) and handing the reply headers to the SDK.
//! * `exact_lookup/N`: allowed and disallowed origins with N exact origins (10 to 10,000):
//!   flat, the set is hashed.
//! * `wildcard/N`: N `scheme://*.domain` patterns (1 to 1,000): flat, a host is looked up once
//!   per label, patterns are never scanned.
//! * `regex/N`: N regex matchers on a disallowed origin: linear, matchers cannot be indexed.
//! * `config_parse/…`: `config::parse` of the small and the large policy (1,000 exact
//!   origins, 100 wildcards, 20 regexes).
//!
//! Before the timings, a counting global allocator counts heap allocations per request for
//! every `decide/…` and `glue/…` case and writes them to
//! `target/criterion/engine-allocations.json` (and prints them).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cors_proxy_wasm::config;
use cors_proxy_wasm::policy_set::PolicySet;
use cors_proxy_wasm::request::Request;
use cors_proxy_wasm::wire;
use criterion::{BenchmarkId, Criterion};

#[path = "../tests/support/mod.rs"]
mod support;

// ---------------------------------------------------------------------------------------------
// Counting allocator: counts only while `COUNTING` is on (a relaxed load otherwise).

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            REALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(
                new_size.saturating_sub(layout.size()) as u64,
                Ordering::Relaxed,
            );
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, reallocations, bytes) per call of `f`, averaged over `n` calls after one
/// warm-up call (regex-lite fills a per-thread cache on first use).
fn count_allocs(n: u64, mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    ALLOCS.store(0, Ordering::SeqCst);
    REALLOCS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..n {
        f();
    }
    COUNTING.store(false, Ordering::SeqCst);
    let per = |a: &AtomicU64| a.load(Ordering::SeqCst) as f64 / n as f64;
    (per(&ALLOCS), per(&REALLOCS), per(&BYTES))
}

// ---------------------------------------------------------------------------------------------
// Policies (the same as bench/run's).

const SMALL: &str = r#"{
  "allow_origins": ["https://app.example.com", "https://admin.example.com", "https://*.example.org"],
  "allow_methods": ["GET", "POST", "PUT", "DELETE"],
  "allow_headers": ["Content-Type", "Authorization"],
  "expose_headers": ["X-Request-Id"],
  "allow_credentials": true,
  "max_age": 600
}"#;

/// The small policy's entries plus 1,000 exact origins, 100 wildcards and 20 regexes.
fn large_policy() -> String {
    let mut origins: Vec<String> = vec![
        "\"https://app.example.com\"".into(),
        "\"https://admin.example.com\"".into(),
        "\"https://*.example.org\"".into(),
    ];
    origins.extend((0..1000).map(|i| format!("\"https://tenant{i:04}.example.com\"")));
    origins.extend((0..100).map(|i| format!("\"https://*.region{i:03}.example.net\"")));
    origins.extend((0..20).map(|i| {
        format!(
            r#"{{"safe_regex": {{"regex": "https://[a-z0-9-]+\\.shard{i:02}\\.example\\.io"}}}}"#
        )
    }));
    format!(
        r#"{{"allow_origins": [{}], "allow_methods": ["GET", "POST", "PUT", "DELETE"],
            "allow_headers": ["Content-Type", "Authorization"], "expose_headers": ["X-Request-Id"],
            "allow_credentials": true, "max_age": 600}}"#,
        origins.join(", ")
    )
}

fn policy_with(origins: impl Iterator<Item = String>) -> PolicySet {
    let list: Vec<String> = origins.collect();
    let json = format!(r#"{{"allow_origins": [{}]}}"#, list.join(", "));
    config::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// The small policy plus `n` entries in `policies`, one per host `tenantI.example.com`, each
/// allowing the small policy's origin with its own exposed header.
fn policies(n: usize) -> PolicySet {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"name": "t{i}", "match": {{"hosts": ["tenant{i}.example.com"]}}, "expose_headers": ["X-Tenant-{i}"]}}"#
            )
        })
        .collect();
    let json = SMALL.replacen(
        '{',
        &format!(r#"{{"policies": [{}],"#, entries.join(", ")),
        1,
    );
    config::parse(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------------
// Requests, as Envoy hands them to the filter (lower-case names, pseudo-headers first).

type Pairs = Vec<(&'static [u8], &'static [u8])>;

fn request(method: &'static str, extra: &[(&'static str, &'static str)]) -> Pairs {
    let mut pairs: Pairs = vec![
        (b":authority", b"api.example.com"),
        (b":path", b"/"),
        (b":method", method.as_bytes()),
        (b":scheme", b"http"),
        (
            b"user-agent",
            b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
        ),
        (b"accept", b"*/*"),
        (b"x-forwarded-proto", b"http"),
        (b"x-request-id", b"6c1f4a53-2c1e-4b0b-9d2e-7f1f0e3a9c11"),
    ];
    pairs.extend(extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
    pairs
}

/// The kinds of `bench/run`, plus origins that hit the large policy's wildcards and regexes.
fn kinds() -> Vec<(&'static str, Pairs)> {
    vec![
        (
            "preflight",
            request(
                "OPTIONS",
                &[
                    ("origin", "https://app.example.com"),
                    ("access-control-request-method", "PUT"),
                    (
                        "access-control-request-headers",
                        "content-type, authorization",
                    ),
                ],
            ),
        ),
        (
            "allowed",
            request("GET", &[("origin", "https://app.example.com")]),
        ),
        (
            "disallowed",
            request("GET", &[("origin", "https://evil.example.net")]),
        ),
        ("no-origin", request("GET", &[])),
    ]
}

fn large_only_kinds() -> Vec<(&'static str, Pairs)> {
    vec![
        (
            "allowed-exact-1000",
            request("GET", &[("origin", "https://tenant0999.example.com")]),
        ),
        (
            "allowed-wildcard",
            request("GET", &[("origin", "https://eu.app.region099.example.net")]),
        ),
        (
            "allowed-regex-last",
            request("GET", &[("origin", "https://x.shard19.example.io")]),
        ),
    ]
}

/// A local reply's response headers (what Envoy's health-check / direct responses carry).
fn response() -> Pairs {
    vec![
        (b":status", b"200"),
        (b"content-length", b"0"),
        (b"content-type", b"text/plain"),
        (b"date", b"Wed, 25 Nov 2026 08:50:57 GMT"),
        (b"server", b"envoy"),
    ]
}

// ---------------------------------------------------------------------------------------------
// What one request costs in the VM, without the host calls.

/// `from_pairs` + `decide` (+ `response_edits` when the request goes on).
fn engine(policy: &PolicySet, req: &[(&[u8], &[u8])], resp: &[(&[u8], &[u8])]) -> usize {
    let r = Request::from_pairs(req);
    let d = policy.decide(&r);
    match &d.reply {
        Some(reply) => reply.headers.len(),
        None => policy.response_edits(&d.response, resp).len(),
    }
}

/// `engine` with the glue's own work: decoding the host's buffers, and the reply headers as
/// the SDK takes them (each edit is then one host call).
fn glue(policy: &PolicySet, req_buf: &[u8], resp_buf: &[u8]) -> usize {
    let Some(pairs) = wire::decode_map(req_buf) else {
        return 0;
    };
    let r = Request::from_pairs(&pairs);
    let d = policy.decide(&r);
    match &d.reply {
        Some(reply) => {
            // The glue turns the reply headers into (&str, &str) pairs for the SDK.
            let h: Vec<(&str, &str)> = reply.headers.iter().map(|(n, v)| (*n, &**v)).collect();
            h.len()
        }
        None => {
            let Some(resp) = wire::decode_map(resp_buf) else {
                return 0;
            };
            policy.response_edits(&d.response, &resp).len()
        }
    }
}

// ---------------------------------------------------------------------------------------------

fn allocation_report(small: &PolicySet, large: &PolicySet) {
    let resp = response();
    let resp_buf = support::encode_map(&resp);
    let mut rows = Vec::new();
    let mut cases: Vec<(&str, &PolicySet, &str, Pairs)> = Vec::new();
    for (kind, req) in kinds() {
        cases.push(("small", small, kind, req.clone()));
        cases.push(("large", large, kind, req));
    }
    for (kind, req) in large_only_kinds() {
        cases.push(("large", large, kind, req));
    }
    // Selection among 1,000 entries: the request's entry is the last one.
    let entries = policies(1_000);
    let mut last = request("GET", &[("origin", "https://app.example.com")]);
    last[0] = (b":authority", b"tenant999.example.com");
    cases.push(("1000pol", &entries, "allowed-last-entry", last));
    println!("allocations per request (counting global allocator, after one warm-up call):");
    println!(
        "{:<8} {:<20} {:>22} {:>22}",
        "policy", "kind", "engine allocs/reallocs/B", "glue allocs/reallocs/B"
    );
    for (pname, policy, kind, req) in &cases {
        let req_buf = support::encode_map(req);
        let e = count_allocs(1000, || {
            black_box(engine(policy, black_box(req), black_box(&resp)));
        });
        let g = count_allocs(1000, || {
            black_box(glue(policy, black_box(&req_buf), black_box(&resp_buf)));
        });
        println!(
            "{pname:<8} {kind:<20} {:>10.1}/{:.1}/{:<6.0} {:>10.1}/{:.1}/{:<6.0}",
            e.0, e.1, e.2, g.0, g.1, g.2
        );
        rows.push(format!(
            r#"{{"policy": "{pname}", "kind": "{kind}", "engine": {{"allocs": {}, "reallocs": {}, "bytes": {}}}, "glue": {{"allocs": {}, "reallocs": {}, "bytes": {}}}}}"#,
            e.0, e.1, e.2, g.0, g.1, g.2
        ));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join("engine-allocations.json"),
        format!("[\n  {}\n]\n", rows.join(",\n  ")),
    );
}

fn benches(c: &mut Criterion, small: &PolicySet, large: &PolicySet, large_json: &str) {
    let resp = response();
    let resp_buf = support::encode_map(&resp);

    let mut g = c.benchmark_group("decide");
    for (kind, req) in kinds() {
        g.bench_with_input(BenchmarkId::new("small", kind), &req, |b, req| {
            b.iter(|| engine(small, black_box(req), black_box(&resp)))
        });
        g.bench_with_input(BenchmarkId::new("large", kind), &req, |b, req| {
            b.iter(|| engine(large, black_box(req), black_box(&resp)))
        });
    }
    for (kind, req) in large_only_kinds() {
        g.bench_with_input(BenchmarkId::new("large", kind), &req, |b, req| {
            b.iter(|| engine(large, black_box(req), black_box(&resp)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("glue");
    for (kind, req) in kinds() {
        let buf = support::encode_map(&req);
        g.bench_with_input(BenchmarkId::new("small", kind), &buf, |b, buf| {
            b.iter(|| glue(small, black_box(buf), black_box(&resp_buf)))
        });
    }
    g.finish();

    // Exact origins: 10 to 10,000, the allowed origin is the last one listed.
    let mut g = c.benchmark_group("exact_lookup");
    for n in [10usize, 100, 1_000, 10_000] {
        let policy = policy_with((0..n).map(|i| format!("\"https://o{i}.example.com\"")));
        let hit = format!("https://o{}.example.com", n - 1);
        let mut hit_req: Vec<(&[u8], &[u8])> = request("GET", &[]);
        hit_req.push((b"origin", hit.as_bytes()));
        let mut miss_req: Vec<(&[u8], &[u8])> = request("GET", &[]);
        miss_req.push((b"origin", b"https://evil.example.net"));
        g.bench_with_input(BenchmarkId::new("allowed", n), &hit_req, |b, req| {
            b.iter(|| engine(&policy, black_box(req), black_box(&resp)))
        });
        g.bench_with_input(BenchmarkId::new("disallowed", n), &miss_req, |b, req| {
            b.iter(|| engine(&policy, black_box(req), black_box(&resp)))
        });
    }
    g.finish();

    // Wildcards: 1 to 1,000 patterns; the origin matches the last one, or none.
    let mut g = c.benchmark_group("wildcard");
    for n in [1usize, 10, 100, 1_000] {
        let policy = policy_with((0..n).map(|i| format!("\"https://*.w{i}.example.com\"")));
        let hit = format!("https://a.b.w{}.example.com", n - 1);
        let mut hit_req: Vec<(&[u8], &[u8])> = request("GET", &[]);
        hit_req.push((b"origin", hit.as_bytes()));
        let mut miss_req: Vec<(&[u8], &[u8])> = request("GET", &[]);
        miss_req.push((b"origin", b"https://a.b.nomatch.example.com"));
        g.bench_with_input(BenchmarkId::new("allowed", n), &hit_req, |b, req| {
            b.iter(|| engine(&policy, black_box(req), black_box(&resp)))
        });
        g.bench_with_input(BenchmarkId::new("disallowed", n), &miss_req, |b, req| {
            b.iter(|| engine(&policy, black_box(req), black_box(&resp)))
        });
    }
    g.finish();

    // Regex matchers are tried in order: a disallowed origin tries them all.
    let mut g = c.benchmark_group("regex");
    for n in [1usize, 5, 20] {
        let policy = policy_with((0..n).map(|i| {
            format!(r#"{{"safe_regex": {{"regex": "https://[a-z0-9-]+\\.shard{i:02}\\.example\\.io"}}}}"#)
        }));
        let mut miss_req: Vec<(&[u8], &[u8])> = request("GET", &[]);
        miss_req.push((b"origin", b"https://evil.example.net"));
        g.bench_with_input(BenchmarkId::new("disallowed", n), &miss_req, |b, req| {
            b.iter(|| engine(&policy, black_box(req), black_box(&resp)))
        });
    }
    g.finish();

    // Policies per host: N entries, each for its own host; the request's entry is the last
    // one listed, so a scan would cost N. "0" is the small policy's request with no entries.
    let mut g = c.benchmark_group("select");
    for n in [0usize, 1, 10, 100, 1_000] {
        let set = policies(n);
        let host = format!("tenant{}.example.com", n.max(1) - 1);
        let mut req: Vec<(&[u8], &[u8])> = request("GET", &[("origin", "https://app.example.com")]);
        req[0] = (b":authority", host.as_bytes());
        g.bench_with_input(BenchmarkId::new("allowed", n), &req, |b, req| {
            b.iter(|| engine(&set, black_box(req), black_box(&resp)))
        });
        let mut other = req.clone();
        other[0] = (b":authority", b"unlisted.example.org");
        g.bench_with_input(BenchmarkId::new("no-entry", n), &other, |b, req| {
            b.iter(|| engine(&set, black_box(req), black_box(&resp)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("config_parse");
    g.bench_function("small", |b| {
        b.iter(|| config::parse(black_box(SMALL.as_bytes())).map(|_| ()))
    });
    g.bench_function("large", |b| {
        b.iter(|| config::parse(black_box(large_json.as_bytes())).map(|_| ()))
    });
    g.finish();
}

fn main() {
    let small = config::parse(SMALL.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let large_json = large_policy();
    let large = config::parse(large_json.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    allocation_report(&small, &large);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c, &small, &large, &large_json);
    c.final_summary();
}

//! Calibration filter for bench/hostcalls: does nothing but the host calls its plugin
//! configuration names, so that `bench/run` can price each kind of host call in this Envoy
//! against the empty filter. The configuration is `MODE` or `MODE*N` (the call made N times per
//! request, to lift its cost above the run-to-run noise), or several joined by `+` (all of them,
//! e.g. `req-absent+resp-replace`: one call in each phase):
//!
//! | mode             | per request, N times                                                 |
//! |------------------|----------------------------------------------------------------------|
//! | `none`           | nothing (the empty filter with this crate's code size)               |
//! | `req-pairs`      | request: `proxy_get_header_map_pairs`                                |
//! | `req-origin`     | request: `proxy_get_header_map_value("origin")` (present in `allowed`) |
//! | `req-absent`     | request: `proxy_get_header_map_value` of a header that is not there  |
//! | `resp-pairs`     | response: `proxy_get_header_map_pairs`                               |
//! | `resp-absent`    | response: `proxy_get_header_map_value` of a header that is not there |
//! | `resp-present`   | response: `proxy_get_header_map_value(":status")`                    |
//! | `resp-setpairs`  | response: one read, then `proxy_set_header_map_pairs` (map + 4)      |
//! | `resp-replace`   | response: `proxy_replace_header_map_value("vary", "Origin")`         |
//! | `resp-add`       | response: `proxy_add_header_map_value("x-cal", "1")`                 |
//! | `resp-remove`    | response: `proxy_remove_header_map_value` of a header that is not there |
//! | `req-reply`      | request: `proxy_send_local_response` 204 with the 6 headers of this filter's preflight reply (N ignored) |
//! | `resp-dup`       | response: adds `x-dup: 1` and `x-dup: 2`, then replaces `x-dup` with 3 (shows what replace does to repeated lines) |
//!
//! Host imports are declared here (as src/filter.rs does) so that no status makes the SDK panic.

use std::cell::RefCell;
use std::ptr::null_mut;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, MapType, Status};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| Box::new(Root { modes: RefCell::default() }));
}}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    ReqPairs,
    ReqOrigin,
    ReqAbsent,
    RespPairs,
    RespAbsent,
    RespPresent,
    RespSetPairs,
    RespReplace,
    RespAdd,
    RespRemove,
    RespDup,
    ReqReply,
}

struct Root {
    modes: RefCell<Rc<Vec<(Mode, u32)>>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let cfg = self.get_plugin_configuration().unwrap_or_default();
        let text = std::str::from_utf8(&cfg)
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        // `A+B`: several modes at once (a request-phase one and a response-phase one).
        let mut modes = Vec::new();
        for part in text.split('+') {
            match parse_mode(part) {
                Some(m) => modes.push(m),
                None => return false,
            }
        }
        *self.modes.borrow_mut() = Rc::new(modes);
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            modes: Rc::clone(&self.modes.borrow()),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    modes: Rc<Vec<(Mode, u32)>>,
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _headers: usize, _eos: bool) -> Action {
        let modes = Rc::clone(&self.modes);
        for &(mode, n) in modes.iter() {
            if request_phase(mode, n) == Action::Pause {
                return Action::Pause;
            }
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _eos: bool) -> Action {
        let modes = Rc::clone(&self.modes);
        for &(mode, n) in modes.iter() {
            response_phase(mode, n);
        }
        Action::Continue
    }
}

fn request_phase(mode: Mode, n: u32) -> Action {
    let t = MapType::HttpRequestHeaders;
    if mode == Mode::ReqReply {
        let headers = [
            ("access-control-allow-origin", "https://app.example.com"),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", "GET, POST, PUT, DELETE"),
            (
                "access-control-allow-headers",
                "Content-Type, Authorization",
            ),
            ("access-control-max-age", "600"),
            (
                "vary",
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        ];
        let pairs: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        let map = encode(&pairs);
        // SAFETY: pointers and lengths of live buffers; no body, no details.
        unsafe {
            proxy_send_local_response(
                204,
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
                map.as_ptr(),
                map.len(),
                -1,
            );
        }
        return Action::Pause;
    }
    for _ in 0..n {
        match mode {
            Mode::ReqPairs => drop(std::hint::black_box(get_pairs(t))),
            Mode::ReqOrigin => drop(std::hint::black_box(get_value(t, "origin"))),
            Mode::ReqAbsent => drop(std::hint::black_box(get_value(t, "x-not-there"))),
            _ => {}
        }
    }
    Action::Continue
}

fn response_phase(mode: Mode, n: u32) {
    let t = MapType::HttpResponseHeaders;
    if mode == Mode::RespSetPairs {
        if let Some(buf) = get_pairs(t) {
            let mut pairs = decode(&buf);
            pairs.push((b"vary", b"Origin"));
            pairs.push((b"access-control-allow-origin", b"https://app.example.com"));
            pairs.push((b"access-control-allow-credentials", b"true"));
            pairs.push((b"access-control-expose-headers", b"X-Request-Id"));
            let out = encode(&pairs);
            for _ in 0..n {
                // SAFETY: pointer and length of a live buffer.
                unsafe { proxy_set_header_map_pairs(t, out.as_ptr(), out.len()) };
            }
        }
        return;
    }
    for _ in 0..n {
        match mode {
            Mode::RespPairs => drop(std::hint::black_box(get_pairs(t))),
            Mode::RespAbsent => drop(std::hint::black_box(get_value(t, "x-not-there"))),
            Mode::RespPresent => drop(std::hint::black_box(get_value(t, ":status"))),
            Mode::RespReplace => call_kv(t, "vary", "Origin", false),
            Mode::RespAdd => call_kv(t, "x-cal", "1", true),
            Mode::RespDup => {
                call_kv(t, "x-dup", "1", true);
                call_kv(t, "x-dup", "2", true);
                call_kv(t, "x-dup", "3", false);
            }
            Mode::RespRemove => {
                let k = "x-not-there";
                // SAFETY: pointer and length of a live string.
                unsafe { proxy_remove_header_map_value(t, k.as_ptr(), k.len()) };
            }
            _ => {}
        }
    }
}

/// `MODE` or `MODE*N`.
fn parse_mode(text: &str) -> Option<(Mode, u32)> {
    let (name, n) = match text.split_once('*') {
        Some((name, n)) => match n.parse::<u32>() {
            Ok(n) if n > 0 => (name, n),
            _ => return None,
        },
        None => (text, 1),
    };
    let mode = match name {
        "" | "none" | "{}" => Mode::None,
        "req-pairs" => Mode::ReqPairs,
        "req-origin" => Mode::ReqOrigin,
        "req-absent" => Mode::ReqAbsent,
        "resp-pairs" => Mode::RespPairs,
        "resp-absent" => Mode::RespAbsent,
        "resp-present" => Mode::RespPresent,
        "resp-setpairs" => Mode::RespSetPairs,
        "resp-replace" => Mode::RespReplace,
        "resp-add" => Mode::RespAdd,
        "resp-remove" => Mode::RespRemove,
        "resp-dup" => Mode::RespDup,
        "req-reply" => Mode::ReqReply,
        _ => return None,
    };
    Some((mode, n))
}

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_pairs(t: MapType, data: *mut *mut u8, size: *mut usize) -> Status;
    fn proxy_set_header_map_pairs(t: MapType, data: *const u8, size: usize) -> Status;
    fn proxy_get_header_map_value(
        t: MapType,
        key: *const u8,
        key_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> Status;
    fn proxy_replace_header_map_value(
        t: MapType,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_add_header_map_value(
        t: MapType,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_remove_header_map_value(t: MapType, key: *const u8, key_size: usize) -> Status;
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> Status;
}

fn take(status: Status, data: *mut u8, size: usize) -> Option<Vec<u8>> {
    match status {
        // SAFETY: the host allocated `size` bytes through proxy_on_memory_allocate and hands
        // them over, as the SDK assumes.
        Status::Ok if !data.is_null() => Some(unsafe { Vec::from_raw_parts(data, size, size) }),
        Status::Ok => Some(Vec::new()),
        _ => None,
    }
}

fn get_pairs(t: MapType) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: out-pointers to locals.
    let status = unsafe { proxy_get_header_map_pairs(t, &mut data, &mut size) };
    take(status, data, size)
}

fn get_value(t: MapType, key: &str) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: key pointer and length of a live string, out-pointers to locals.
    let status =
        unsafe { proxy_get_header_map_value(t, key.as_ptr(), key.len(), &mut data, &mut size) };
    take(status, data, size)
}

fn call_kv(t: MapType, k: &str, v: &str, add: bool) {
    // SAFETY: pointers and lengths of live strings.
    unsafe {
        if add {
            proxy_add_header_map_value(t, k.as_ptr(), k.len(), v.as_ptr(), v.len());
        } else {
            proxy_replace_header_map_value(t, k.as_ptr(), k.len(), v.as_ptr(), v.len());
        }
    }
}

fn decode(buf: &[u8]) -> Vec<(&[u8], &[u8])> {
    let u32_at = |i: usize| {
        buf.get(i..i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let n = u32_at(0);
    let mut data = 4 + n * 8;
    let mut out = Vec::with_capacity(n + 4);
    for i in 0..n {
        let (kl, vl) = (u32_at(4 + i * 8), u32_at(8 + i * 8));
        let (Some(k), Some(v)) = (
            buf.get(data..data + kl),
            buf.get(data + kl + 1..data + kl + 1 + vl),
        ) else {
            break;
        };
        out.push((k, v));
        data += kl + vl + 2;
    }
    out
}

fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len() + 2)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

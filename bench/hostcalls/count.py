"""Counts the host calls a proxy-wasm filter makes per request, by running the real .wasm under
a small recording host (wasmtime) that speaks the proxy-wasm ABI 0.2.1 like Envoy.

    .venv/bin/python bench/hostcalls/count.py [--json OUT] NAME=PATH.wasm ...

For each request kind of bench/run (preflight, allowed, disallowed, no-origin, plus an
allowed request whose upstream already sent `Vary` and `Access-Control-*` headers) it drives
one stream as Envoy does: context create, request headers, and the response headers of either
the upstream (a local 200 like the benchmark route's) or the filter's own local reply (Envoy runs
the filter's response callback on that too), then log, done, delete. The streamed kind also
carries a request and a response body in STREAM_CHUNKS data frames each and response
trailers, as a gRPC stream does. Like proxy-wasm-cpp-host (Envoy's wasm host), it enters the VM
only for the callbacks the module exports. It prints every host call (`proxy_*`, WASI) made
between context create and delete, and the host → VM entries: the callbacks themselves and
`proxy_on_memory_allocate` (the host asks the VM for a buffer to return data in; in Envoy each
such entry costs about as much as a callback).

It also counts the wasm instructions the module executes per request (wasmtime's fuel: one
unit per operator, host calls excluded). That figure does not depend on the machine's load, so
it compares two builds of the same code exactly where timings on a busy machine cannot: what
differs between them per request is these instructions, the host calls being the same.

Counters flushed on the tick (proxy_increment_metric) are counted separately, per tick.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections import Counter
from pathlib import Path

import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The policy and the request kinds are bench/run's, so the counts are those of what it measures.
from bench import SMALL_POLICY, kind_headers  # noqa: E402

OK, NOT_FOUND, BAD_ARGUMENT = 0, 1, 2
FUEL = 10**15  # never runs out; what a stream uses is read from the difference
REQ, RESP = 0, 2  # MapType::HttpRequestHeaders, HttpResponseHeaders
PLUGIN_CONFIGURATION = 7

BASE_REQUEST = [
    (":authority", "127.0.0.1:10000"),
    (":path", "/"),
    (":scheme", "http"),
    ("x-forwarded-proto", "http"),
    ("x-request-id", "6c1f4a53-2c1e-4b0b-9d2e-7f1f0e3a9c11"),
]
LOCAL_200 = [(":status", "200"), ("x-envoy-upstream-healthchecked-cluster", ""), ("content-length", "0")]



def request(kind: str) -> list[tuple[str, str]]:
    """bench/run's request of this kind as Envoy hands it to a filter: lower-case names."""
    method, headers = kind_headers(kind, "minimal")
    return [(":method", method)] + [(n.lower(), v) for n, v in headers]


# Data frames each way in the streamed kind.
STREAM_CHUNKS = 10

KINDS = {
    "preflight": (request("preflight"), LOCAL_200),
    "allowed": (request("allowed"), LOCAL_200),
    "disallowed": (request("disallowed"), LOCAL_200),
    "no-origin": (request("no-origin"), LOCAL_200),
    "allowed, upstream sent Vary + ACAO": (
        request("allowed"),
        LOCAL_200 + [("vary", "Accept-Encoding"), ("access-control-allow-origin", "*"), ("access-control-max-age", "5")],
    ),
    f"allowed, streamed: {STREAM_CHUNKS} data frames each way + trailers": (
        [(":method", "POST"), ("origin", "https://app.example.com"), ("content-type", "application/grpc")],
        [(":status", "200"), ("content-type", "application/grpc")],
    ),
}


def encode_map(pairs: list[tuple[str, str]]) -> bytes:
    out = struct.pack("<I", len(pairs))
    for k, v in pairs:
        out += struct.pack("<II", len(k.encode()), len(v.encode()))
    for k, v in pairs:
        out += k.encode() + b"\0" + v.encode() + b"\0"
    return out


def decode_map(buf: bytes) -> list[tuple[str, str]]:
    if not buf:
        return []
    (n,) = struct.unpack_from("<I", buf, 0)
    sizes = [struct.unpack_from("<II", buf, 4 + 8 * i) for i in range(n)]
    pos = 4 + 8 * n
    out = []
    for kl, vl in sizes:
        k = buf[pos : pos + kl].decode("latin-1")
        pos += kl + 1
        v = buf[pos : pos + vl].decode("latin-1")
        pos += vl + 1
        out.append((k, v))
    return out


class Host:
    def __init__(self, wasm: Path, configuration: bytes):
        config = wasmtime.Config()
        config.consume_fuel = True
        self.engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(self.engine)
        self.store.set_fuel(FUEL)
        self.module = wasmtime.Module.from_file(self.engine, str(wasm))
        self.linker = wasmtime.Linker(self.engine)
        self.calls: Counter[str] = Counter()
        self.fuel: Counter[str] = Counter()  # instructions per callback (memory allocations included)
        self.maps: dict[int, list[tuple[str, str]]] = {REQ: [], RESP: []}
        self.local_reply: tuple[int, list[tuple[str, str]]] | None = None
        self.configuration = configuration
        self.logs: list[str] = []
        for imp in self.module.imports:
            self._define(imp)  # proxy-wasm and WASI alike, each call counted
        self.instance = self.linker.instantiate(self.store, self.module)
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]

    # -- memory helpers --
    def read(self, ptr: int, size: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + size)) if size else b""

    def write_u32(self, ptr: int, value: int) -> None:
        self.memory.write(self.store, struct.pack("<I", value), ptr)

    def give(self, data: bytes, ret_ptr: int, ret_size: int) -> None:
        """Hands `data` to the VM the way Envoy does: a buffer from proxy_on_memory_allocate."""
        # Envoy's host takes `malloc` first, else `proxy_on_memory_allocate` (the SDK exports the
        # latter on wasm32-wasip1, the former on wasm32-unknown-unknown).
        name = "malloc" if "malloc" in self.exports else "proxy_on_memory_allocate"
        self.calls["→ VM proxy_on_memory_allocate"] += 1
        fuel = self.store.get_fuel()
        addr = self.exports[name](self.store, len(data))
        self.fuel["memory_allocate"] += fuel - self.store.get_fuel()
        self.memory.write(self.store, data, addr)
        self.write_u32(ret_ptr, addr)
        self.write_u32(ret_size, len(data))

    # -- imports --
    def _define(self, imp) -> None:
        name = imp.name
        ftype = imp.type
        impl = getattr(self, "h_" + name, None)

        def func(*args, _name=name, _impl=impl):
            self.calls[_name] += 1
            if _impl is None:
                return OK if ftype.results else None
            return _impl(*args)

        self.linker.define(self.store, imp.module, name, wasmtime.Func(self.store, ftype, func))

    # WASI: what the Rust standard library may ask for.
    def h_random_get(self, ptr, size):
        self.memory.write(self.store, bytes(size), ptr)
        return 0

    def h_environ_sizes_get(self, count_ptr, size_ptr):
        self.write_u32(count_ptr, 0)
        self.write_u32(size_ptr, 0)
        return 0

    def h_fd_write(self, fd, iovs, iovs_len, nwritten):
        total = 0
        for i in range(iovs_len):
            _, length = struct.unpack("<II", self.read(iovs + 8 * i, 8))
            total += length
        self.write_u32(nwritten, total)
        return 0

    def h_proc_exit(self, code):
        raise SystemExit(f"the module called proc_exit({code})")

    def h_proxy_log(self, level, ptr, size):
        self.logs.append(self.read(ptr, size).decode(errors="replace"))
        return OK

    def h_proxy_get_log_level(self, ret):
        self.write_u32(ret, 2)  # info, as in the benchmark
        return OK

    def h_proxy_get_buffer_bytes(self, btype, start, max_size, ret_ptr, ret_size):
        if btype != PLUGIN_CONFIGURATION:
            return NOT_FOUND
        start, max_size = start & 0xFFFFFFFF, max_size & 0xFFFFFFFF  # i32 → usize
        self.give(self.configuration[start : start + max_size], ret_ptr, ret_size)
        return OK

    def h_proxy_define_metric(self, mtype, name_ptr, name_size, ret_id):
        self.write_u32(ret_id, 1 + self.calls["proxy_define_metric"])
        return OK

    def h_proxy_get_header_map_pairs(self, mtype, ret_ptr, ret_size):
        self.give(encode_map(self.maps[mtype]), ret_ptr, ret_size)
        return OK

    def h_proxy_get_header_map_value(self, mtype, kp, ks, ret_ptr, ret_size):
        key = self.read(kp, ks).decode().lower()
        for k, v in self.maps[mtype]:
            if k == key:
                self.give(v.encode(), ret_ptr, ret_size)
                return OK
        return NOT_FOUND

    def h_proxy_set_header_map_pairs(self, mtype, ptr, size):
        self.maps[mtype] = decode_map(self.read(ptr, size))
        return OK

    def h_proxy_replace_header_map_value(self, mtype, kp, ks, vp, vs):
        key, value = self.read(kp, ks).decode().lower(), self.read(vp, vs).decode()
        self.maps[mtype] = [(k, v) for k, v in self.maps[mtype] if k != key] + [(key, value)]
        return OK

    def h_proxy_add_header_map_value(self, mtype, kp, ks, vp, vs):
        self.maps[mtype].append((self.read(kp, ks).decode().lower(), self.read(vp, vs).decode()))
        return OK

    def h_proxy_remove_header_map_value(self, mtype, kp, ks):
        key = self.read(kp, ks).decode().lower()
        self.maps[mtype] = [(k, v) for k, v in self.maps[mtype] if k != key]
        return OK

    def h_proxy_send_local_response(self, status, dp, ds, bp, bs, hp, hs, grpc):
        self.local_reply = (status, decode_map(self.read(hp, hs)))
        return OK

    def h_proxy_get_property(self, *args):
        return NOT_FOUND

    def h_proxy_get_current_time_nanoseconds(self, ret):
        self.memory.write(self.store, struct.pack("<Q", 0), ret)
        return OK

    # -- driving --
    def call(self, export: str, *args):
        """Enters the VM, unless the module does not export the callback: then the host skips
        it (proxy-wasm-cpp-host's ContextBase::onLog, onDone, onRequestBody... return at once)."""
        func = self.exports.get(export)
        if func is None:
            return None
        self.calls[f"→ VM {export}"] += 1
        fuel = self.store.get_fuel()
        try:
            return func(self.store, *args)
        finally:
            self.fuel[export] += fuel - self.store.get_fuel()

    def start(self) -> None:
        if "_initialize" in self.exports:
            self.exports["_initialize"](self.store)
        self.call("proxy_on_context_create", 1, 0)
        self.call("proxy_on_vm_start", 1, 0)
        ok = self.call("proxy_on_configure", 1, len(self.configuration))
        if not ok:
            raise SystemExit(f"the plugin refused its configuration: {self.logs[-3:]}")

    def stream(self, ctx: int, kind: str, request, response) -> tuple[Counter[str], dict[str, object]]:
        self.calls.clear()
        self.fuel.clear()
        self.maps = {REQ: BASE_REQUEST + list(request), RESP: []}
        self.local_reply = None
        fuel0 = self.store.get_fuel()
        self.call("proxy_on_context_create", ctx, 1)
        streamed = "streamed" in kind
        self.call("proxy_on_request_headers", ctx, len(self.maps[REQ]), 0 if streamed else 1)
        if streamed and self.local_reply is None:
            for i in range(STREAM_CHUNKS):
                self.call("proxy_on_request_body", ctx, 64, int(i == STREAM_CHUNKS - 1))
        if self.local_reply is not None:
            status, headers = self.local_reply
            self.maps[RESP] = [(":status", str(status))] + headers + [("content-length", "0")]
        else:
            self.maps[RESP] = list(response)
        self.call("proxy_on_response_headers", ctx, len(self.maps[RESP]), 0 if streamed else 1)
        if streamed and self.local_reply is None:
            for _ in range(STREAM_CHUNKS):
                self.call("proxy_on_response_body", ctx, 64, 0)
            self.call("proxy_on_response_trailers", ctx, 1)
        self.call("proxy_on_log", ctx)
        self.call("proxy_on_done", ctx)
        self.call("proxy_on_delete", ctx)
        final = {
            "wasm_instructions": fuel0 - self.store.get_fuel(),
            "wasm_instructions_by_callback": dict(self.fuel),
            "local_reply": self.local_reply is not None,
            "response": [f"{k}: {v}" for k, v in self.maps[RESP] if k.startswith("access-control-") or k == "vary" or k == ":status"],
        }
        return Counter(self.calls), final

    def tick(self) -> Counter[str]:
        self.calls.clear()
        self.call("proxy_on_tick", 1)
        return Counter(self.calls)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("filters", nargs="+", metavar="NAME=PATH.wasm")
    ap.add_argument("--json", help="also write the counts here")
    ap.add_argument("--config", help="plugin configuration JSON (default: bench/run's small policy)")
    args = ap.parse_args()
    config = (args.config or json.dumps(SMALL_POLICY)).encode()
    results = {}
    for spec in args.filters:
        name, _, path = spec.partition("=")
        host = Host(Path(path), config)
        host.start()
        results[name] = {}
        print(f"\n== {name} ({path})")
        for i, (kind, (request, response)) in enumerate(KINDS.items()):
            # A few streams first, so one-time work (hash keys, allocator growth) is not counted.
            for j in range(3):
                host.stream(100 + 10 * i + j, kind, request, response)
            calls, final = host.stream(200 + i, kind, request, response)
            proxy = {k: v for k, v in calls.items() if not k.startswith("→")}
            entries = {k[5:]: v for k, v in calls.items() if k.startswith("→")}
            results[name][kind] = {"host_calls": proxy, "vm_entries": entries, **final}
            print(f"  {kind}:")
            print(f"    host calls ({sum(proxy.values())}): " + ", ".join(f"{k} ×{v}" for k, v in sorted(proxy.items())))
            print(f"    host → VM entries ({sum(entries.values())}): " + ", ".join(f"{k} ×{v}" for k, v in sorted(entries.items())))
            by = ", ".join(f"{k.removeprefix('proxy_on_')} {v:,}" for k, v in sorted(final["wasm_instructions_by_callback"].items()))
            print(f"    wasm instructions executed: {final['wasm_instructions']:,} ({by})")
            print(f"    {'local reply; ' if final['local_reply'] else ''}response: {'; '.join(final['response'])}")
        t = host.tick()
        results[name]["tick"] = dict(t)
        print(f"  tick (once a second): " + ", ".join(f"{k} ×{v}" for k, v in sorted(t.items())))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

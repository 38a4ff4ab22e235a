"""Prints the tables of BENCHMARKS.md from the latest results, to paste after a final run:

    .venv/bin/python bench/hostcalls/tables.py

Reads bench/results/results.json (bench/run), bench/results/hostcalls/ab-headers.txt and
ab-bodies.txt (bench/hostcalls/floor) and counts.json (count.py), and prints, in Markdown:
Envoy CPU µs per request for every variant (HTTP/1.1 and HTTP/2), the ratios, the in-one-Envoy
differences for header-only kinds and for bodies and the stream, and the VM entries and wasm
instructions per request kind.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
LABELS = {
    "empty": "empty SDK filter",
    "empty-trimmed": "empty SDK filter, this filter's exports",
    "cors": "**this filter**",
    "cors-all-exports": "this filter, every callback exported",
    "calls-allowed": "calibration filter making only this filter's host calls of an **allowed** request (the same calls on every kind)",
    "none": "no filter",
}


def minus(text: str) -> str:
    return text.replace("-", "−")


def parse_ab(path: Path) -> dict[str, dict[str, tuple[float, str, str, str]]]:
    """ab.py's summary: kind → variant → (µs, difference, [middle half], ratio)."""
    out: dict[str, dict[str, tuple[float, str, str, str]]] = {}
    pattern = r"\n(\S+): Envoy CPU µs per .*?\nvariant.*?\n((?:\S+ +[-\d.]+ +[-+\d.]+ +\[.*?\] +[\d.]+\n?)+)"
    for m in re.finditer(pattern, path.read_text()):
        rows = {}
        for line in m.group(2).strip().splitlines():
            name, us, diff, half, ratio = line.split()
            rows[name] = (float(us), diff, half, ratio)
        out[m.group(1)] = rows
    return out


def bench_run() -> None:
    res = json.loads((RESULTS / "results.json").read_text())
    s, r, kinds = res["throughput"]["summary"], res["throughput"]["ratios"], res["kinds"]
    names = [v["name"] for v in res["variants"]]
    labels = {v["name"]: v["label"] for v in res["variants"]}
    print(f"<!-- bench/run {res['meta']['date']}, commit {res['meta']['git_commit'][:7]} -->\n")
    for title, ks in (("HTTP/1.1", [k for k in kinds if not k.startswith("h2-")]), ("HTTP/2", [k for k in kinds if k.startswith("h2-")])):
        if not ks:
            continue
        print(f"| Envoy CPU µs per request, {title} | " + " | ".join(ks) + " |")
        print("|---|" + "---:|" * len(ks))
        for n in names:
            print(f"| {labels[n]} | " + " | ".join(f"{s[n][k]['cpu_us_per_req']:.1f}" for k in ks) + " |")
        print()
    print("| ratio | " + " | ".join(kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    for n in names:
        if "cpu_vs_empty" in r[kinds[0]].get(n, {}) and n != "empty":
            print(f"| {labels[n]} / empty wasm, from Envoy CPU time | " + " | ".join(f"{r[k][n]['cpu_vs_empty']:.2f}" for k in kinds) + " |")
    for n in names:
        if n != "none" and "cpu_vs_none" in r[kinds[0]].get(n, {}):
            print(f"| {labels[n]} / no filter, from Envoy CPU time | " + " | ".join(f"{r[k][n]['cpu_vs_none']:.2f}" for k in kinds) + " |")
    print()


def ab_tables() -> None:
    headers = RESULTS / "hostcalls" / "ab-headers.txt"
    if headers.is_file():
        h = parse_ab(headers)
        kinds = list(h)
        print("| over the empty SDK filter: µs [middle half], ratio | " + " | ".join(kinds) + " |")
        print("|---|" + "---:|" * len(kinds))
        print("| empty SDK filter: µs per request | " + " | ".join(f"{h[k]['empty'][0]:.1f}" for k in kinds) + " |")
        for v in ("empty-trimmed", "cors", "cors-all-exports", "calls-allowed", "none"):
            if v in h[kinds[0]]:
                print(f"| {LABELS[v]} | " + " | ".join(minus(f"{h[k][v][1]} {h[k][v][2]}, {h[k][v][3]}") for k in kinds) + " |")
        print()
    bodies = RESULTS / "hostcalls" / "ab-bodies.txt"
    if bodies.is_file():
        b = parse_ab(bodies)
        kinds = list(b)
        print("| Envoy CPU µs; difference to the empty SDK filter [middle half] | " + " | ".join(kinds) + " |")
        print("|---|" + "---:|" * len(kinds))
        for v in ("empty", "empty-trimmed", "cors", "cors-all-exports"):
            cells = [f"{b[k][v][0]:.0f}" if v == "empty" else minus(f"{b[k][v][0]:.0f}; {b[k][v][1]} {b[k][v][2]}") for k in kinds]
            print(f"| {LABELS[v]} | " + " | ".join(cells) + " |")
        print()


def counts() -> None:
    path = RESULTS / "hostcalls" / "counts.json"
    if not path.is_file():
        return
    d = json.loads(path.read_text())
    kinds = [k for k in next(iter(d.values())) if k != "tick"]
    print("| host → VM entries; wasm instructions | " + " | ".join(kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    for name, r in d.items():
        print(f"| {name} | " + " | ".join(f"{sum(r[k]['vm_entries'].values())}; {r[k]['wasm_instructions']:,}" for k in kinds) + " |")
    print()


if __name__ == "__main__":
    bench_run()
    ab_tables()
    counts()

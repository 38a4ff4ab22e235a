"""Side by side in one Envoy: every variant on its own listener of the same Envoy process, driven
in turn by wrk, so what differs between two Envoy processes (memory layout, which the full
bench/run sees as +-1.5 µs per request between two Envoys with the same .wasm) cancels out of
the differences between variants.

    .venv/bin/python bench/hostcalls/ab.py [--envoys E] [--rounds R] [--duration S]
        [--kinds preflight,allowed,...] NAME=PATH.wasm[@CONFIG] ... [none]

Prints, per kind, each variant's Envoy CPU µs per request (median over all rounds of all
Envoys) and its difference to the first variant: the median of the differences measured within
one round (variants run back to back, so slow drifts of the machine cancel), with the middle
half of those differences.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench as b  # noqa: E402


def listener(name: str, v: b.Variant) -> dict:
    """bench/run's listener for this variant (same route, same filters), named after it."""
    ls = b.bootstrap(v, "local")["static_resources"]["listeners"][0]
    ls["name"] = name
    return ls


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--envoys", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=2)
    ap.add_argument("--kinds", default="allowed")
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    names, listeners = [], []
    for spec in args.specs:
        name, _, rest = spec.partition("=")
        path, at, cfg = rest.partition("@")
        if name == "none":
            v = b.Variant(name, name, "none", cors=False)
        else:
            v = b.Variant(name, name, "wasm", Path(path).resolve(), b.SMALL_POLICY, raw_config=cfg if at else None)
        names.append(name)
        listeners.append(listener(name, v))
    boot = b.bootstrap(b.Variant("none", "none", "none", cors=False), "local")
    boot["static_resources"]["listeners"] = listeners
    kinds = args.kinds.split(",")
    wd = Path(tempfile.mkdtemp(prefix="cors-ab-"))
    # rounds[kind][name]: one figure per round, all Envoys; index i of every variant is one round
    rounds: dict[str, dict[str, list[float]]] = {k: {n: [] for n in names} for k in kinds}
    binary = b.envoy_binary()
    try:
        for i in range(args.envoys):
            e = b.Envoy(binary, wd, f"ab-{i}", boot)
            try:
                e.wait_ready()
                _, body = e.admin("/listeners?format=json")
                ports = {ls["name"]: int(ls["local_address"]["socket_address"]["port_value"]) for ls in json.loads(body)["listener_statuses"]}
                for kind in kinds:
                    lua = b.lua_script(wd, kind, "minimal")
                    for n in names:  # warm-up
                        e.port = ports[n]
                        b.run_wrk(e, lua, 1, 32, [e])
                    for r in range(args.rounds):
                        order = names if r % 2 == 0 else list(reversed(names))
                        for n in order:
                            e.port = ports[n]
                            rounds[kind][n].append(b.run_wrk(e, lua, args.duration, 32, [e])["cpu_us_per_req"])
                    last = {n: statistics.median(rounds[kind][n][-args.rounds:]) for n in names}
                    print(f"envoy {i} {kind}: " + "  ".join(f"{n} {v:.2f}" for n, v in last.items()), flush=True)
            finally:
                e.stop()
    finally:
        b.kill_all()
    base = names[0]
    for kind in kinds:
        print(f"\n{kind}: Envoy CPU µs per request ({args.envoys} Envoys × {args.rounds} rounds × {args.duration} s)")
        print(f"{'variant':28}{'µs/req':>9}{'vs ' + base:>10}{'middle half':>18}{'ratio':>8}")
        bvals = rounds[kind][base]
        for n in names:
            vals = rounds[kind][n]
            diffs = sorted(v - bv for v, bv in zip(vals, bvals))
            q1, q3 = diffs[len(diffs) // 4], diffs[(3 * len(diffs)) // 4]
            dmed = statistics.median(diffs)
            ratio = statistics.median(bvals) / (statistics.median(bvals) + dmed)
            print(f"{n:28}{statistics.median(vals):9.2f}{dmed:+10.2f}{'[' + f'{q1:+.2f}..{q3:+.2f}' + ']':>18}{ratio:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

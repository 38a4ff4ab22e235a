"""`cors-proxy-wasm explain` agrees with the filter in a real Envoy on every case of the engine's
request table (tests/engine.rs): the same status, the same `Access-Control-*` and `Vary`
headers, and the same answer to "did the upstream see it". The table's own expectations are
checked too, so the three (engine table, command, Envoy) say one thing.

Each case is sent to Envoy as the engine table writes it, over plain HTTP to 127.0.0.1 with
`Host: api.example.com`. The table's requests come from `https://api.example.com` unless they
say otherwise; over a plain connection Envoy's `:scheme` is `http`, so those requests carry
`X-Forwarded-Proto: https` (which Envoy passes on to the filter), and `explain` gets the same
header lines and an `http://` URL. Envoy drops a hop-by-hop `Upgrade` that `Connection` does not
name, so a WebSocket handshake is sent with `Connection: Upgrade`, and `explain` gets the lines
the filter gets. The upstream's response is given to `explain` as the filter saw it in Envoy."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Iterator

import pytest

import engine_table
import envoy_harness as harness
from cli_run import run

CASES = engine_table.cases()
HOST = "api.example.com"


@pytest.fixture(scope="module")
def upstream() -> Iterator[harness.Upstream]:
    with harness.Upstream() as up:
        yield up


@pytest.fixture(scope="module")
def envoys(upstream) -> Iterator[dict[str, harness.Envoy]]:
    """One Envoy per policy of the table, started on first use, all stopped at the end."""
    try:
        harness.build_wasm()
        harness.envoy_binary()
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    started: dict[str, harness.Envoy] = {}
    try:
        yield started
    finally:
        for envoy in started.values():
            envoy.stop()


def envoy_for(envoys: dict[str, harness.Envoy], upstream: harness.Upstream, policy: str) -> harness.Envoy:
    if policy not in envoys:
        try:
            envoys[policy] = harness.start_envoy(policy, upstream, jwt=False, name="explain-agreement")
        except harness.HarnessError as e:
            pytest.fail(str(e), pytrace=False)
    return envoys[policy]


def cors_view(headers) -> list[tuple[str, str]]:
    return sorted((n, v) for n, v in headers if n.startswith("access-control-") or n == "vary")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_explain_agrees_with_envoy(cli, envoys, upstream, tmp_path: Path, case: engine_table.Case):
    pseudo = {n: v for n, v in case.request if n.startswith(":")}
    headers = [(n, v) for n, v in case.request if not n.startswith(":")]
    method = pseudo.get(":method", "GET")
    assert set(pseudo) <= {":method", ":scheme"}, f"case sets {set(pseudo)}: the comparison cannot send that"
    names = {n for n, _ in headers}
    if pseudo.get(":scheme", "https") == "https" and "x-forwarded-proto" not in names:
        headers.append(("x-forwarded-proto", "https"))
    # A WebSocket handshake says so in `Connection`; other upgrades are sent as the table has them.
    if ("upgrade", "websocket") in [(n, v.lower()) for n, v in headers] and "connection" not in names:
        headers.append(("connection", "Upgrade"))
    # Envoy drops `Upgrade` before the filter unless `Connection` names it (hop-by-hop).
    upgrading = any(n == "connection" and "upgrade" in v.lower() for n, v in headers)
    filter_sees = [(n, v) for n, v in headers if n != "upgrade" or upgrading]
    path = harness.uniq("/explain") + "?" + urllib.parse.urlencode(
        [("status", "200")] + [("set", f"{n}:{v}") for n, v in case.upstream])

    # Envoy, with the filter.
    envoy = envoy_for(envoys, upstream, case.policy)
    got = envoy.request(method, path, headers, host=HOST)
    seen = len(upstream.seen(path.split("?")[0])) == 1
    in_envoy = (got.status, cors_view(got.headers), seen)

    # The command, on the same policy and the same header lines.
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(case.policy)
    base = ["explain", "--config", str(policy_file), "--json", "--actual", "--url", f"http://{HOST}{path}",
            "--method", method]
    args = base[:]
    for n, v in filter_sees:
        args += ["-H", f"{n}: {v}"]
    # The upstream's response as the filter saw it: the table's CORS and Vary lines, and the
    # other lines Envoy's response holds (server, date, content-type...), which an `*` expose
    # list under credentials names.
    response = [(n, v) for n, v in case.upstream if n.startswith("access-control-") or n == "vary"]
    if seen:
        response += [(n, v) for n, v in got.headers
                     if not (n.startswith("access-control-") or n in ("vary", "connection"))]
    for n, v in response:
        args += ["--upstream-header", f"{n}: {v}"]
    proc = run(cli, *args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    [exchange] = report["exchanges"]
    # Header values lose their surrounding whitespace, in HTTP and in the command alike.
    assert exchange["request"][4:] == [[n, v.strip()] for n, v in filter_sees], exchange["request"]
    in_explain = (exchange["status"], cors_view(tuple(h) for h in exchange["response"]),
                  exchange["answered_by"] == "upstream")

    assert in_explain == in_envoy, (
        f"explain and Envoy differ\n  explain: {in_explain}\n  envoy:   {in_envoy}\n{got.describe()}")
    assert proc.returncode == (1 if exchange["decision"] == "denied" else 0)

    # And with the table's own request and upstream response, the table's answer.
    table_args = base[:]
    for n, v in headers:
        table_args += ["-H", f"{n}: {v}"]
    for n, v in case.upstream:
        table_args += ["--upstream-header", f"{n}: {v}"]
    [exchange] = json.loads(run(cli, *table_args).stdout)["exchanges"]
    from_table = (exchange["status"], cors_view(tuple(h) for h in exchange["response"]),
                  exchange["answered_by"] == "upstream")
    table = (case.status, sorted(case.headers), case.upstream_sees_it)
    assert from_table == table, f"explain and tests/engine.rs differ\n  explain: {from_table}\n  table:   {table}"

"""The request table of tests/engine.rs (`CASES`), read from the Rust source, so that the Envoy
comparison runs exactly the cases the engine tests run, new ones included.

The table is Rust literals only: `Case { field: value, ... }` with strings (plain or raw), the
`&str` constants declared in the file, integers, booleans and `&[("name", "value"), ...]`.
Anything else fails loudly, naming what it met."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ENGINE_RS = Path(__file__).resolve().parents[1] / "engine.rs"

TOKEN = re.compile(
    r'\s+|//[^\n]*'                      # whitespace, comments
    r'|(?P<raw>r(?P<hashes>#*)"(?P<rawbody>.*?)"(?P=hashes))'
    r'|(?P<str>"(?P<body>(?:[^"\\]|\\.)*)")'
    r'|(?P<num>\d+)'
    r'|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)'
    r'|(?P<punct>&\[|[\[\](){},:;&=])',
    re.S,
)

ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


@dataclass
class Case:
    name: str
    policy: str
    request: list[tuple[str, str]]
    upstream: list[tuple[str, str]]
    status: int
    upstream_sees_it: bool
    headers: list[tuple[str, str]]


def _tokens(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"tests/engine.rs: unexpected text at {pos}: {text[pos:pos + 40]!r}")
        pos = m.end()
        if m.group("raw") is not None:
            out.append(("str", m.group("rawbody")))
        elif m.group("str") is not None:
            out.append(("str", re.sub(r"\\(.)", lambda e: ESCAPES[e.group(1)], m.group("body"))))
        elif m.group("num") is not None:
            out.append(("num", int(m.group("num"))))
        elif m.group("ident") is not None:
            out.append(("ident", m.group("ident")))
        elif m.group("punct") is not None:
            out.append(("punct", m.group("punct")))
    return out


def _constants(text: str) -> dict[str, str]:
    consts = {}
    for m in re.finditer(r'const (\w+): &str\s*=\s*(.*?);\n', text, re.S):
        toks = _tokens(m.group(2))
        if len(toks) == 1 and toks[0][0] == "str":
            consts[m.group(1)] = toks[0][1]
    return consts


def cases() -> list[Case]:
    text = ENGINE_RS.read_text()
    consts = _constants(text)
    start = text.index("const CASES: &[Case] = &[")
    end = text.index("\n];", start)
    toks = _tokens(text[start + len("const CASES: &[Case] = &["):end])
    i = 0

    def take(kind: str, value: object = None):
        nonlocal i
        k, v = toks[i]
        if k != kind or (value is not None and v != value):
            raise ValueError(f"tests/engine.rs CASES: expected {value or kind}, found {v!r}")
        i += 1
        return v

    def value():
        nonlocal i
        k, v = toks[i]
        if k == "str" or k == "num":
            i += 1
            return v
        if k == "ident":
            i += 1
            if v in ("true", "false"):
                return v == "true"
            if v not in consts:
                raise ValueError(f"tests/engine.rs CASES: unknown constant {v}")
            return consts[v]
        if (k, v) == ("punct", "&["):
            i += 1
            items = []
            while toks[i] != ("punct", "]"):
                take("punct", "(")
                a = value()
                take("punct", ",")
                b = value()
                take("punct", ")")
                items.append((a, b))
                if toks[i] == ("punct", ","):
                    i += 1
            i += 1
            return items
        raise ValueError(f"tests/engine.rs CASES: unexpected {v!r}")

    out = []
    while i < len(toks):
        take("ident", "Case")
        take("punct", "{")
        fields = {}
        while toks[i] != ("punct", "}"):
            key = take("ident")
            take("punct", ":")
            fields[key] = value()
            if toks[i] == ("punct", ","):
                i += 1
        i += 1
        if i < len(toks) and toks[i] == ("punct", ","):
            i += 1
        out.append(Case(**fields))
    expected = len(re.findall(r"\bCase \{", text[start:end]))
    if len(out) != expected:
        raise ValueError(f"tests/engine.rs: read {len(out)} cases, the table has {expected}")
    return out

// cors-proxy-wasm demo page: runs real cross-origin requests and shows what the browser allowed.
//
// The page runs in two places:
//   * at the allowed origin (DEMO_CONFIG.web, http://localhost:3000): the grid;
//   * at a disallowed origin (DEMO_CONFIG.webOther, http://127.0.0.1:3000) with ?role=foreign,
//     in a hidden iframe of the first: it runs the "disallowed origin" rows and posts the results
//     back to the grid.
// When it is done, window.DEMO_RESULTS holds one object per row and <html data-state="done">.
//
// Each row also shows what the filter decided: the x-cors-decision header where the browser lets
// JavaScript read the response (the API policy has "debug_header": true and exposes it), and,
// for the rows that expect one, the filter's counter that moved (read through /envoy-stats, the
// page's own origin). A blocked response is never readable: its decision header is only in the
// browser's network tab and in Envoy's access log, and the page shows no value for it.
"use strict";

const CFG = window.DEMO_CONFIG;
const ROLE = new URLSearchParams(location.search).get("role");
const SAFELISTED = new Set([
  "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma",
]);
const FETCH_TIMEOUT_MS = 8000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = () => Math.random().toString(36).slice(2, 10);

// ------------------------------------------------------------------------------------------------
// Probes: what the browser lets JavaScript see.

/** fetch() that never throws: {readable, status, headers{name: value}, body, error}. */
async function probe(url, init = {}) {
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const headers = {};
    r.headers.forEach((v, k) => { headers[k] = v; });
    const body = await r.text().catch(() => "");
    return { readable: true, status: r.status, headers, body, error: null };
  } catch (e) {
    return { readable: false, status: null, headers: {}, body: "", error: `${e.name}: ${e.message}` };
  }
}

/** A WebSocket handshake: {opened, closeCode}. */
function probeWebSocket(url) {
  return new Promise((resolve) => {
    let opened = false;
    let ws;
    const done = (closeCode) => resolve({ opened, closeCode });
    try {
      ws = new WebSocket(url);
    } catch (e) {
      done(`${e.name}: ${e.message}`);
      return;
    }
    const timer = setTimeout(() => { try { ws.close(); } catch (_) { /* ignore */ } done("timeout"); }, FETCH_TIMEOUT_MS);
    ws.onopen = () => { opened = true; ws.close(); };
    ws.onclose = (ev) => { clearTimeout(timer); done(ev.code); };
  });
}

/** The filter's counters (short names), read through the page's own origin. */
async function counters() {
  const r = await fetch("/envoy-stats", { cache: "no-store" });
  const out = {};
  for (const s of (await r.json()).stats || []) {
    out[s.name.replace(/^wasmcustom\.cors\./, "")] = s.value;
  }
  return out;
}

/** Counters once everything sent so far has been flushed: the filter flushes once a second, so
 * wait until they have not moved for 1.3 s (at most 6 s). */
async function settledCounters() {
  const end = Date.now() + 6000;
  let last = await counters();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(250);
    const now = await counters();
    if (JSON.stringify(now) !== JSON.stringify(last)) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 1300) {
      break;
    }
  }
  return last;
}

/** Polls the counters until each name reaches its target (or 5 s pass): returns the last read. */
async function waitCounters(targets, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  let now = await counters();
  const reached = () => Object.entries(targets).every(([name, v]) => (now[name] ?? 0) >= v);
  while (!reached() && Date.now() < end) {
    await sleep(250);
    now = await counters();
  }
  return now;
}

/** Runs a row and, when it names counters (`expect.counted`: name -> expected increase), reads
 * them before and after: res.counted = [{name, before, after}]. The filter hands its counts to
 * Envoy once a second, so "after" waits until every expected increase has arrived; each counter
 * a row names is moved by no earlier row that leaves it unread, so "before" holds no count of
 * another row. */
async function runCounted(row) {
  const names = Object.keys(row.expect.counted || {});
  if (!names.length) return runRow(row);
  let before;
  try {
    before = await counters();
  } catch (e) {
    const res = await runRow(row);
    res.countedError = `cannot read /envoy-stats: ${e}`;
    return res;
  }
  const res = await runRow(row);
  const targets = {};
  for (const n of names) targets[n] = (before[n] ?? 0) + Math.max(row.expect.counted[n], 0);
  const after = await waitCounters(targets);
  res.counted = names.map((name) => ({ name, before: before[name] ?? 0, after: after[name] ?? 0 }));
  return res;
}

// ------------------------------------------------------------------------------------------------
// The rows. `expect`: readable (bool), status, read (headers JS must read), hidden (headers JS
// must not read), decision (the x-cors-decision the filter sends: checked where JavaScript can
// read it; null when the filter sends none), counted (counter -> its exact increase),
// check(result) -> problem string or null. `group` starts a new heading when it changes.

const JSON_HEADERS = { "Content-Type": "application/json" };
const DECISION = "x-cors-decision";

const MAIN_ROWS = [
  {
    id: "simple-get", group: "main",
    title: "Simple GET",
    request: () => `GET ${CFG.api}/api/hello`,
    why: "No preflight. The filter adds Access-Control-Allow-Origin to the upstream's answer; only the exposed headers are readable.",
    expect: { readable: true, status: 200, read: ["x-request-id", "x-api-version"], hidden: ["x-internal-note"], decision: "allowed" },
    run: () => probe(`${CFG.api}/api/hello`),
  },
  {
    id: "json-post", group: "main",
    title: "JSON POST (preflighted)",
    request: () => `POST ${CFG.api}/api/items\nContent-Type: application/json`,
    why: "A JSON body makes the browser send a preflight first; the filter answers it (204) without bothering the upstream.",
    expect: { readable: true, status: 201, read: ["x-request-id"], decision: "allowed" },
    run: () => probe(`${CFG.api}/api/items`, { method: "POST", headers: JSON_HEADERS, body: '{"name":"widget"}' }),
  },
  {
    id: "put-auth-list", group: "main",
    title: "PUT with Authorization (listed header)",
    request: () => `PUT ${CFG.api}/api/items/42\nAuthorization: Bearer …\nContent-Type: application/json`,
    why: "allow_headers lists Content-Type and Authorization, so the preflight is allowed.",
    expect: { readable: true, status: 200, decision: "allowed" },
    run: () => probe(`${CFG.api}/api/items/42`, {
      method: "PUT", headers: { ...JSON_HEADERS, Authorization: "Bearer demo" }, body: '{"name":"gadget"}',
    }),
  },
  {
    id: "put-unlisted-header", group: "main",
    title: "PUT with a header not in allow_headers",
    request: () => `PUT ${CFG.api}/api/items/42\nX-Trace-Id: demo`,
    why: "X-Trace-Id is not listed: the filter denies the preflight (403) and the browser never sends the PUT.",
    expect: { readable: false, decision: "denied; header x-trace-id", counted: { "preflight_denied_by.header": 1 } },
    run: () => probe(`${CFG.api}/api/items/42`, { method: "PUT", headers: { "X-Trace-Id": "demo" }, body: "{}" }),
  },
  {
    id: "put-auth-star", group: "main",
    title: "PUT with Authorization via allow_headers [\"*\"]",
    request: () => `PUT ${CFG.apiStar}/api/items/42\nAuthorization: Bearer …\nX-Trace-Id: demo`,
    why: "The filter answers with the requested names: a literal * never covers Authorization, and means nothing with credentials.",
    expect: { readable: true, status: 200, read: ["x-request-id"], decision: null, decisionWhy: "no debug_header in this listener's policy" },
    run: () => probe(`${CFG.apiStar}/api/items/42`, {
      method: "PUT", headers: { ...JSON_HEADERS, Authorization: "Bearer demo", "X-Trace-Id": "demo" }, body: "{}",
    }),
  },
  {
    id: "delete", group: "main",
    title: "DELETE",
    request: () => `DELETE ${CFG.api}/api/items/42`,
    why: "DELETE is in allow_methods.",
    expect: { readable: true, status: 200, decision: "allowed" },
    run: () => probe(`${CFG.api}/api/items/42`, { method: "DELETE" }),
  },
  {
    id: "patch-denied", group: "main",
    title: "PATCH (not in allow_methods)",
    request: () => `PATCH ${CFG.api}/api/items/42`,
    why: "The preflight asks for PATCH, which the policy does not list: denied, the request is never sent.",
    expect: { readable: false, decision: "denied; method PATCH", counted: { "preflight_denied_by.method": 1 } },
    run: () => probe(`${CFG.api}/api/items/42`, { method: "PATCH", body: "{}" }),
  },
  {
    id: "cookie-set", group: "main",
    title: "Credentialed request: the upstream sets a cookie",
    request: () => `GET ${CFG.api}/api/cookie/set\ncredentials: 'include'`,
    why: "With credentials the browser needs the exact origin and Access-Control-Allow-Credentials: true; only then does it store the cookie.",
    expect: { readable: true, status: 200, hidden: ["set-cookie"], decision: "allowed" },
    run: () => probe(`${CFG.api}/api/cookie/set`, { credentials: "include" }),
  },
  {
    id: "cookie-sent", group: "main",
    title: "Credentialed request: the cookie is sent back",
    request: () => `GET ${CFG.api}/api/cookie/check\ncredentials: 'include'`,
    why: "The upstream echoes the Cookie header it received in X-Cookie-Seen (exposed).",
    expect: {
      readable: true, status: 200, read: ["x-cookie-seen"], decision: "allowed",
      check: (r) => (/demo_session=hello-from-envoy/.test(r.headers["x-cookie-seen"] || "")
        ? null : "the cookie did not come back"),
      note: "X-Cookie-Seen shows demo_session",
    },
    run: () => probe(`${CFG.api}/api/cookie/check`, { credentials: "include" }),
  },
  {
    id: "legacy", group: "main",
    title: "Upstream with its own wrong CORS headers",
    request: () => `GET ${CFG.api}/api/legacy\ncredentials: 'include'`,
    why: "The upstream sends Access-Control-Allow-Origin twice (* and another site) and its own Expose-Headers; the filter replaces them (counted in upstream_replaced): no \"multiple values\" error.",
    expect: {
      readable: true, status: 200, read: ["x-request-id"], hidden: ["x-internal-note"], decision: "allowed",
      counted: { upstream_replaced: 1 },
    },
    run: () => probe(`${CFG.api}/api/legacy`, { credentials: "include" }),
  },
  {
    id: "jwt-401", group: "main",
    title: "401 from jwt_authn is readable",
    request: () => `GET ${CFG.api}/api/secure\n(no token)`,
    why: "jwt_authn, placed after the CORS filter, refuses the request; the 401 still carries CORS headers, so the page can react to it.",
    expect: { readable: true, status: 401, read: ["www-authenticate"], decision: "allowed" },
    run: () => probe(`${CFG.api}/api/secure`),
  },
  {
    id: "jwt-200", group: "main",
    title: "Valid demo token",
    request: () => `GET ${CFG.api}/api/secure\nAuthorization: Bearer <demo JWT>`,
    why: "The preflight for Authorization is answered before jwt_authn; the actual request carries a valid RS256 token.",
    expect: { readable: true, status: 200, read: ["x-request-id"], decision: "allowed" },
    run: () => probe(`${CFG.api}/api/secure`, { headers: { Authorization: `Bearer ${CFG.token}` } }),
  },
  {
    id: "rate-limit", group: "main",
    title: "429 from local_ratelimit is readable",
    request: () => `5 × GET ${CFG.api}/api/limited`,
    why: "3 requests per 10 s per Origin. The rate limiter's 429 gets CORS headers too, and its X-RateLimit-* headers are exposed.",
    expect: { readable: true, status: 429, read: ["x-ratelimit-limit", "x-ratelimit-remaining"], decision: "allowed" },
    run: async () => {
      const statuses = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await probe(`${CFG.api}/api/limited`);
        statuses.push(last.readable ? last.status : "blocked");
      }
      last.note = `statuses: ${statuses.join(" ")}`;
      return last;
    },
  },
  {
    id: "preflight-cache", group: "main",
    title: "Preflight cache (max_age 600)",
    request: () => `2 × PUT ${CFG.api}/api/items/<new>\nContent-Type: application/json`,
    why: "Access-Control-Max-Age: 600 lets the browser reuse the preflight: the second PUT sends no OPTIONS (counted by the filter).",
    expect: {
      readable: true, status: 200, decision: "allowed",
      check: (r) => (r.preflights === 1 ? null : `expected 1 OPTIONS, the filter counted ${r.preflights}`),
      note: "1 OPTIONS for 2 PUTs",
    },
    run: async () => {
      const url = `${CFG.api}/api/items/cache-${rand()}`;
      const init = { method: "PUT", headers: JSON_HEADERS, body: "{}" };
      const before = (await settledCounters()).preflight_allowed ?? 0;
      const first = await probe(url, init);
      const second = await probe(url, init);
      const after = (await settledCounters()).preflight_allowed ?? 0;
      const result = second.readable ? second : first;
      result.readable = first.readable && second.readable;
      result.preflights = after - before;
      result.note = `OPTIONS sent: ${after - before} (preflight_allowed ${before} → ${after})`;
      return result;
    },
  },
  // The second API host: the same listener and filter, decided by the policy's entry "partner".
  {
    id: "partner-get", group: "partner",
    title: "Simple GET to the partner host",
    request: () => `GET ${CFG.apiPartner}/api/hello`,
    why: "Host 127.0.0.1 matches the entry \"partner\", which exposes only X-Request-Id and X-Cors-Decision: X-Api-Version, readable from localhost, is not here. Counted under cors.policy.partner.",
    expect: {
      readable: true, status: 200, read: ["x-request-id"], hidden: ["x-api-version", "x-internal-note"],
      decision: "allowed; policy=partner", counted: { "policy.partner.actual_allowed": 1 },
    },
    run: () => probe(`${CFG.apiPartner}/api/hello`),
  },
  {
    id: "partner-delete", group: "partner",
    title: "DELETE to the partner host (GET only)",
    request: () => `DELETE ${CFG.apiPartner}/api/items/42`,
    why: "The DELETE that localhost allows above: the partner entry allows only GET, so the filter denies the preflight (403).",
    expect: {
      readable: false, decision: "denied; method DELETE; policy=partner",
      counted: { "policy.partner.preflight_denied_by.method": 1 },
    },
    run: () => probe(`${CFG.apiPartner}/api/items/42`, { method: "DELETE" }),
  },
  {
    id: "partner-credentials", group: "partner",
    title: "Credentialed GET to the partner host",
    request: () => `GET ${CFG.apiPartner}/api/hello\ncredentials: 'include'`,
    why: "The entry sets allow_credentials: false. The filter allows the origin but sends no Access-Control-Allow-Credentials, so the browser refuses a credentialed call.",
    expect: { readable: false, decision: "allowed; policy=partner", counted: { "policy.partner.actual_allowed": 1 } },
    run: () => probe(`${CFG.apiPartner}/api/hello`, { credentials: "include" }),
  },
  // The dry-run listener: the filter decides and counts, and changes nothing.
  {
    id: "dry-legacy", group: "dry",
    title: "Dry run: the upstream's wrong CORS headers reach the browser",
    request: () => `GET ${CFG.apiDry}/api/legacy\ncredentials: 'include'`,
    why: "The same upstream as the /api/legacy row above, but the filter changes nothing: the browser gets Access-Control-Allow-Origin: *,https://legacy.example and refuses it. The filter counts the difference from its policy and logs it.",
    expect: {
      readable: false, decision: null, decisionWhy: "a dry run adds no header",
      counted: { dry_run_checked: 1, dry_run_mismatch: 1 },
    },
    run: () => probe(`${CFG.apiDry}/api/legacy`, { credentials: "include" }),
  },
  {
    id: "dry-own-cors", group: "dry",
    title: "Dry run: an upstream that already sends the policy's headers",
    request: () => `GET ${CFG.apiDry}/api/own-cors\ncredentials: 'include'`,
    why: "The upstream's own headers are the ones the policy would send: readable, compared, no mismatch. When dry_run_mismatch stays flat, switch mode to \"enforce\".",
    expect: {
      readable: true, status: 200, read: ["x-request-id"], hidden: ["x-api-version"],
      decision: null, decisionWhy: "a dry run adds no header",
      counted: { dry_run_checked: 1, dry_run_mismatch: 0 },
    },
    run: () => probe(`${CFG.apiDry}/api/own-cors`, { credentials: "include" }),
  },
];

const FOREIGN_ROWS = [
  {
    id: "foreign-get", group: "foreign",
    title: "Simple GET from a disallowed origin",
    request: () => `GET ${CFG.api}/api/hello\nOrigin: ${CFG.webOther}`,
    why: "The filter answers without Access-Control-Allow-Origin: the browser withholds the response.",
    expect: { readable: false, decision: "denied; origin", counted: { actual_denied: 1 } },
    run: () => probe(`${CFG.api}/api/hello`),
  },
  {
    id: "foreign-credentials", group: "foreign",
    title: "Credentialed GET of /api/legacy from a disallowed origin",
    request: () => `GET ${CFG.api}/api/legacy\ncredentials: 'include'\nOrigin: ${CFG.webOther}`,
    why: "The upstream says Allow-Origin * and Allow-Credentials true; the filter removes that grant for origins the policy does not allow (upstream_replaced).",
    expect: { readable: false, decision: "denied; origin", counted: { upstream_replaced: 1 } },
    run: () => probe(`${CFG.api}/api/legacy`, { credentials: "include" }),
  },
  {
    id: "foreign-preflight", group: "foreign",
    title: "JSON PUT from a disallowed origin",
    request: () => `PUT ${CFG.api}/api/items/42\nContent-Type: application/json\nOrigin: ${CFG.webOther}`,
    why: "The preflight is denied (403) by the filter; the PUT is never sent.",
    expect: { readable: false, decision: "denied; origin", counted: { "preflight_denied_by.origin": 1 } },
    run: () => probe(`${CFG.api}/api/items/42`, { method: "PUT", headers: JSON_HEADERS, body: "{}" }),
  },
  {
    id: "foreign-ws", group: "foreign",
    title: "WebSocket from a disallowed origin",
    request: () => `GET ${CFG.wsApi}/ws\nUpgrade: websocket\nOrigin: ${CFG.webOther}`,
    why: "Browsers apply no CORS to WebSockets; the filter checks the handshake's Origin and answers 403 (counted as websocket_rejected).",
    expect: {
      readable: false, decision: "denied; origin (websocket)", counted: { websocket_rejected: 1 },
      note: "handshake refused (403)",
    },
    run: async () => {
      const ws = await probeWebSocket(`${CFG.wsApi}/ws`);
      return {
        readable: ws.opened, status: null, headers: {}, body: "",
        error: ws.opened ? null : `handshake failed (close code ${ws.closeCode})`,
        closeCode: ws.closeCode, note: `close code ${ws.closeCode}`,
      };
    },
  },
];
// ------------------------------------------------------------------------------------------------
// Judging a row.

function judge(row, res) {
  const e = row.expect;
  const problems = [];
  if (res.readable !== e.readable) {
    problems.push(e.readable ? `blocked: ${res.error}` : "JavaScript could read the response");
  }
  if (e.readable && res.readable) {
    if (e.status !== undefined && res.status !== e.status) problems.push(`status ${res.status}, expected ${e.status}`);
    for (const h of e.read || []) if (!(h in res.headers)) problems.push(`cannot read ${h}`);
    for (const h of e.hidden || []) if (h in res.headers) problems.push(`${h} is readable`);
    if (e.decision !== undefined) {
      const got = res.headers[DECISION] ?? null;
      if (got !== e.decision) {
        problems.push(e.decision === null ? `${DECISION}: ${got}, expected none`
          : `${DECISION}: ${got === null ? "not readable" : got}, expected ${e.decision}`);
      }
    }
  }
  if (res.countedError) problems.push(res.countedError);
  for (const c of res.counted || []) {
    const want = e.counted[c.name];
    if (c.after - c.before !== want) problems.push(`${c.name} ${c.before} → ${c.after}, expected +${want}`);
  }
  if (e.check) {
    const p = e.check(res);
    if (p) problems.push(p);
  }
  return problems;
}

function expectText(row) {
  const e = row.expect;
  const parts = [e.readable ? "allowed" : "blocked"];
  if (e.readable && e.status !== undefined) parts.push(String(e.status));
  let text = parts.join(" · ");
  if (e.read && e.read.length) text += `\nreads ${e.read.join(", ")}`;
  if (e.hidden && e.hidden.length) text += `\nnot ${e.hidden.join(", ")}`;
  if (e.note) text += `\n${e.note}`;
  return text;
}

/** The decision the row expects, for the Expected column: checked where readable, only shown
 * (network tab, access log) where the browser blocks the response. */
function expectDecision(row) {
  const e = row.expect;
  if (e.decision === undefined) return null;
  if (e.decision === null) return el("div", { class: "exp-decision muted" }, `no ${DECISION}: ${e.decisionWhy}`);
  return el("div", { class: "exp-decision" },
    el("span", { class: "muted" }, e.readable ? "decision " : "decision (network tab) "),
    el("code", {}, e.decision));
}

// ------------------------------------------------------------------------------------------------
// Rendering (textContent only: values come from the network).

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}

const GROUPS = {
  main: () => ["From ", el("code", {}, CFG.web), " — the allowed origin"],
  partner: () => ["From ", el("code", {}, CFG.web), " to the second API host ", el("code", {}, CFG.apiPartner),
    " — the same filter, its policy's entry \"partner\""],
  dry: () => ["From ", el("code", {}, CFG.web), " to the dry-run listener ", el("code", {}, CFG.apiDry),
    " — the filter decides and counts, the upstream's headers go through"],
  foreign: () => ["From ", el("code", {}, CFG.webOther), " — not allowed (the same page in a hidden iframe)"],
};
const COLUMNS = 9;

function renderRow(row, index) {
  const tr = el("tr", { id: `row-${row.id}`, "data-row": row.id, class: "pending" });
  const [first, ...rest] = row.request().split("\n");
  // "PUT http://host:port/path" -> "PUT /path" in bold, the API's origin under it.
  const m = first.match(/^(.*?)((?:https?|wss?):\/\/[^/\s]+)(\S*)$/);
  const req = el("td", { class: "c-req" });
  if (m) {
    req.append(el("div", { class: "req-line" }, `${m[1]}${m[3] || "/"}`), el("div", { class: "req-host" }, m[2]));
  } else {
    req.append(el("div", { class: "req-line" }, first));
  }
  for (const line of rest) req.append(el("div", { class: "req-extra" }, line));
  const exp = el("td", { class: "c-exp" }, el("div", { class: "exp-text" }, expectText(row)));
  const decision = expectDecision(row);
  if (decision) exp.append(decision);
  tr.append(
    el("td", { class: "c-n" }, String(index + 1)),
    req,
    el("td", { class: "c-why" }, el("div", { class: "row-title" }, row.title), el("div", { class: "muted small" }, row.why)),
    exp,
    el("td", { class: "c-browser" }, el("span", { class: "muted" }, "…")),
    el("td", { class: "c-status" }),
    el("td", { class: "c-decision" }),
    el("td", { class: "c-headers" }),
    el("td", { class: "c-mark" }, el("span", { class: "mark wait", title: "running" }, "…")),
  );
  return tr;
}

/** What the row saw of the filter's decision: the header as read, or why there is none, and
 * the counters the row named. */
function decisionCell(row, res) {
  const cell = [];
  const e = row.expect;
  if (res.readable && DECISION in res.headers) {
    cell.push(el("code", { class: "decision" }, res.headers[DECISION]));
  } else if (res.readable) {
    cell.push(el("span", { class: "muted small" }, "not sent"));
  } else if (e.decision === null) {
    cell.push(el("span", { class: "muted small" }, "nothing readable"));
  } else if (e.decision !== undefined) {
    cell.push(el("span", { class: "muted small" }, "hidden from JavaScript (network tab, access log)"));
  }
  for (const c of res.counted || []) {
    const d = c.after - c.before;
    cell.push(el("div", { class: "counted", "data-counted": c.name, title: `${d >= 0 ? "+" : ""}${d}` },
      el("code", {}, ...breakable(c.name)), ` ${c.before} → ${c.after}`));
  }
  return cell;
}

/** A dotted counter name with line-break opportunities after its dots. */
function breakable(name) {
  const out = [];
  name.split(".").forEach((part, i, all) => {
    out.push(i < all.length - 1 ? `${part}.` : part);
    if (i < all.length - 1) out.push(el("wbr"));
  });
  return out;
}

function fillRow(row, res, problems) {
  const tr = document.getElementById(`row-${row.id}`);
  const ok = problems.length === 0;
  tr.className = ok ? "pass" : "fail";
  const browser = tr.querySelector(".c-browser");
  browser.replaceChildren(
    res.readable ? el("span", { class: "pill ok" }, "allowed") : el("span", { class: "pill bad" }, "blocked"),
  );
  if (!res.readable && res.error) browser.append(el("div", { class: "muted small err" }, res.error));
  tr.querySelector(".c-status").replaceChildren(
    res.readable && res.status !== null ? el("span", { class: `status s${String(res.status)[0]}` }, String(res.status))
      : el("span", { class: "muted", title: "the browser gave JavaScript no status" }, "—"),
  );
  tr.querySelector(".c-decision").replaceChildren(...decisionCell(row, res));
  const hdrs = tr.querySelector(".c-headers");
  hdrs.replaceChildren();
  // x-cors-decision has its own column.
  const names = Object.keys(res.headers).filter((n) => n !== DECISION).sort();
  if (!res.readable) hdrs.append(el("span", { class: "muted" }, "none"));
  for (const name of names) {
    const cls = SAFELISTED.has(name) ? "hdr safelisted" : "hdr exposed";
    let value = res.headers[name];
    if (value.length > 46) value = `${value.slice(0, 43)}…`;
    hdrs.append(el("div", { class: cls, title: res.headers[name] }, el("b", {}, name), `: ${value}`));
  }
  if (res.note) hdrs.append(el("div", { class: "note" }, res.note));
  const mark = tr.querySelector(".c-mark");
  mark.replaceChildren(el("span", { class: `mark ${ok ? "yes" : "no"}`, title: ok ? "as expected" : problems.join("; ") }, ok ? "✓" : "✗"));
  if (!ok) mark.append(el("div", { class: "small problem" }, problems.join("; ")));
}

// The counters panel: every counter of the filter (README, "Metrics and logs"), one column for
// the requests no named entry decided (cors.*), one per named entry (cors.policy.<name>.*).
const COUNTER_ROWS = [
  ["preflight_allowed", "preflights answered with CORS headers"],
  ["preflight_denied", "preflights denied"],
  ["preflight_denied_by.origin", "… because of the origin"],
  ["preflight_denied_by.method", "… because of the method"],
  ["preflight_denied_by.header", "… because of a header"],
  ["preflight_denied_by.private_network", "… because of private network access"],
  ["actual_allowed", "actual requests from allowed origins"],
  ["actual_denied", "actual requests from other origins, without CORS headers"],
  ["rejected", "actual requests answered 403 (disallowed_origin: reject)"],
  ["websocket_rejected", "WebSocket handshakes answered 403"],
  ["upstream_replaced", "responses whose own Access-Control-* headers were replaced"],
  ["dry_run_checked", "dry run: responses compared with the policy"],
  ["dry_run_mismatch", "dry run: responses that differ from it"],
];

function renderCounters(values, before) {
  const entries = [...new Set(Object.keys(values)
    .map((n) => n.match(/^policy\.([^.]+)\./)).filter(Boolean).map((m) => m[1]))].sort();
  const prefixes = [["", "cors.*"], ...entries.map((n) => [`policy.${n}.`, `cors.policy.${n}.*`])];
  const table = el("table", { class: "counter-table" });
  table.append(el("thead", {}, el("tr", {},
    el("th", {}, "counter"), el("th", {}, "counts"),
    ...prefixes.map(([, label]) => el("th", { class: "num" }, el("code", {}, label))))));
  const body = el("tbody");
  for (const [name, meaning] of COUNTER_ROWS) {
    const tr = el("tr", {}, el("td", {}, el("code", {}, name)), el("td", { class: "muted small" }, meaning));
    for (const [prefix] of prefixes) {
      const full = prefix + name;
      const v = values[full] ?? 0;
      const delta = before ? v - (before[full] ?? 0) : null;
      tr.append(el("td", { class: `num${v ? "" : " zero"}`, "data-counter": full },
        el("span", { class: "counter-value" }, String(v)),
        delta ? el("span", { class: "counter-delta" }, ` +${delta}`) : ""));
    }
    body.append(tr);
  }
  table.append(body);
  document.getElementById("counters").replaceChildren(table);
}

// ------------------------------------------------------------------------------------------------
// Running.

async function runRow(row) {
  let res;
  try {
    res = await row.run();
  } catch (e) {
    res = { readable: false, status: null, headers: {}, body: "", error: `demo error: ${e}` };
  }
  return res;
}

function foreignResults() {
  const frame = document.getElementById("foreign");
  return new Promise((resolve) => {
    const timer = setTimeout(() => { window.removeEventListener("message", onMessage); resolve(null); }, 30000);
    function onMessage(ev) {
      if (ev.origin !== CFG.webOther || !ev.data || ev.data.type !== "foreign-results") return;
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      resolve(ev.data.results);
    }
    window.addEventListener("message", onMessage);
    frame.src = `${CFG.webOther}/?role=foreign&run=${rand()}`;
  });
}

async function runAll() {
  const rerun = document.getElementById("rerun");
  rerun.disabled = true;
  document.documentElement.dataset.state = "running";
  const summary = document.getElementById("summary");
  summary.className = "summary running";
  document.getElementById("score").textContent = "…";
  document.getElementById("summary-title").textContent = "Running the requests…";

  const tbody = document.getElementById("rows");
  tbody.replaceChildren();
  let group = null;
  [...MAIN_ROWS, ...FOREIGN_ROWS].forEach((row, i) => {
    if (row.group !== group) {
      group = row.group;
      tbody.append(el("tr", { class: "group", "data-group": group }, el("td", { colspan: String(COLUMNS) }, ...GROUPS[group]())));
    }
    tbody.append(renderRow(row, i));
  });

  const results = [];
  const record = (row, res) => {
    const problems = judge(row, res);
    fillRow(row, res, problems);
    results.push({
      id: row.id, group: row.group, title: row.title,
      expected: { readable: row.expect.readable, status: row.expect.status ?? null, decision: row.expect.decision ?? null },
      readable: res.readable, status: res.status, headers: res.headers, error: res.error,
      decision: res.readable ? (res.headers[DECISION] ?? null) : null,
      counted: res.counted || [], note: res.note || null, pass: problems.length === 0, problems,
    });
  };

  let start = {};
  try { start = await counters(); } catch (_) { /* shown below */ }

  for (const row of MAIN_ROWS) record(row, await runCounted(row));

  // The disallowed origin: the same page from webOther, in an iframe (it reads the counters too:
  // /envoy-stats is its own origin's).
  const foreign = await foreignResults();
  for (const row of FOREIGN_ROWS) {
    let res = foreign && foreign.find((r) => r.id === row.id);
    if (!res) {
      res = { readable: false, status: null, headers: {}, body: "", error: `no answer from the iframe at ${CFG.webOther}` };
    }
    record(row, res);
  }

  let end = {};
  try { end = await settledCounters(); } catch (_) { /* ignore */ }
  renderCounters(end, start);

  const passed = results.filter((r) => r.pass).length;
  window.DEMO_RESULTS = results;
  window.DEMO_SUMMARY = { passed, total: results.length };
  document.getElementById("score").textContent = `${passed}/${results.length}`;
  const allOk = passed === results.length;
  summary.className = `summary ${allOk ? "ok" : "bad"}`;
  document.getElementById("summary-title").textContent = allOk
    ? "Every request behaved as the policy promises."
    : `${results.length - passed} row(s) did not behave as expected.`;
  document.getElementById("summary-sub").textContent =
    `${results.filter((r) => r.readable).length} allowed, ${results.filter((r) => !r.readable).length} blocked by the browser — ${new Date().toLocaleTimeString()}`;
  document.documentElement.dataset.state = "done";
  rerun.disabled = false;
}

async function runForeign() {
  const results = [];
  for (const row of FOREIGN_ROWS) {
    const res = await runCounted(row);
    results.push({ id: row.id, ...res });
  }
  window.parent.postMessage({ type: "foreign-results", results }, CFG.web);
}

function fillConfig() {
  for (const n of document.querySelectorAll("[data-cfg]")) n.textContent = CFG[n.dataset.cfg];
  for (const n of document.querySelectorAll("[data-cfg-href]")) n.href = CFG[n.dataset.cfgHref];
  for (const key of ["api", "apiStar", "apiDry"]) {
    document.getElementById(`policy-${key}`).textContent = formatPolicy(CFG.policies[key]);
  }
}

/** JSON with one top-level field a line; a nested value stays on one line when it fits in
 * `width`, otherwise a list of plain values is wrapped under its first item and anything else
 * is broken up one member a line. */
function formatPolicy(policy, width = 78) {
  const compact = (v) => {
    if (Array.isArray(v)) return `[${v.map(compact).join(", ")}]`;
    if (v && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${compact(x)}`).join(", ")}}`;
    return JSON.stringify(v);
  };
  // `head` is the text before the value on its first line; returns the value's lines.
  const format = (v, indent, head, force = false) => {
    const flat = compact(v);
    if (!force && (head.length + flat.length <= width || !v || typeof v !== "object")) return [head + flat];
    if (Array.isArray(v) && v.every((x) => !x || typeof x !== "object")) {
      const out = [];
      let line = `${head}[`;
      const pad = " ".repeat(head.length + 1);
      v.forEach((x, i) => {
        const piece = compact(x) + (i < v.length - 1 ? "," : "]");
        if (line.length + piece.length > width && !line.endsWith("[")) {
          out.push(line.trimEnd());
          line = pad;
        }
        line += `${piece} `;
      });
      out.push(line.trimEnd());
      return out;
    }
    const inner = `${indent}  `;
    const members = Array.isArray(v)
      ? v.map((x) => format(x, inner, inner))
      : Object.entries(v).map(([k, x]) => format(x, inner, `${inner}${JSON.stringify(k)}: `));
    members.forEach((lines, i) => { if (i < members.length - 1) lines[lines.length - 1] += ","; });
    const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
    return [`${head}${open}`, ...members.flat(), `${indent}${close}`];
  };
  return format(policy, "", "", true).join("\n");
}

if (ROLE === "foreign") {
  runForeign();
} else {
  fillConfig();
  document.getElementById("rerun").addEventListener("click", () => runAll());
  if (location.origin === CFG.web) {
    runAll();
  } else {
    // Opened from another origin: every call would be refused, which proves little. Say where to go.
    document.getElementById("wrong-origin").hidden = false;
    document.getElementById("here").textContent = location.origin;
    document.getElementById("served-from").textContent = location.origin;
    document.getElementById("grid").hidden = true;
    document.getElementById("counters-card").hidden = true;
    document.getElementById("summary-sub").textContent =
      "Every request would come from an origin the policy does not allow.";
    document.getElementById("summary").className = "summary bad";
    document.getElementById("score").textContent = "!";
    document.getElementById("summary-title").textContent = `Open ${CFG.web} to run the demo.`;
    document.documentElement.dataset.state = "wrong-origin";
  }
}

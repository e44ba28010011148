// kubectl jxsecret ui: the verify table, kept current by the server's event stream (/api/events).
// Text only ever goes in through textContent: names and messages come from the cluster.
"use strict";

const STATES = ["Populated", "Stale", "SyncError", "SecretMissing", "KeysMissing", "Invalid", "Unknown"];
const BAD = new Set(["SyncError", "SecretMissing", "Invalid", "KeysMissing"]);
const rows = new Map();          // key -> row (the server's JSON)
const picked = new Set();        // keys ticked for "Refresh selected"
let allowRefresh = false, openKey = null, cluster = {connected: true, message: ""}, serverUp = true, loading = true;

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
}

function matches(r, text) {
  if (!text) return true;
  const hay = [r.namespace, r.name, r.store, r.state, r.reason, r.message, r.detail, ...r.missingKeys].join(" ").toLowerCase();
  return text.toLowerCase().split(/\s+/).filter(Boolean).every((word) => hay.includes(word));
}

function render() {
  const text = $("filter").value.trim();
  const shown = [...rows.values()].filter((r) => matches(r, text))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const body = $("body");
  const out = [];
  let ns = null;
  for (const r of shown) {
    if (r.namespace !== ns) {
      ns = r.namespace;
      const inNs = shown.filter((x) => x.namespace === ns).length;
      out.push(el("tr", {class: "group", "data-namespace": ns}, el("td", {colSpan: 9}, `${ns} (${inNs})`)));
    }
    out.push(rowElement(r));
  }
  if (!out.length) out.push(el("tr", {}, el("td", {colSpan: 9, class: "empty"},
    loading ? "loading…" : rows.size ? "nothing matches the filter" : "no ExternalSecrets")));
  body.replaceChildren(...out);
  renderCounts(shown);
  $("refresh-selected").hidden = !allowRefresh;
  $("refresh-selected").disabled = picked.size === 0;
  $("pick-head").textContent = allowRefresh ? "✓" : "";
}

function rowElement(r) {
  const tr = el("tr", {class: `row s-${r.state}${BAD.has(r.state) ? " bad" : ""}${r.key === openKey ? " open" : ""}`,
    "data-key": r.key, "data-namespace": r.namespace, "data-name": r.name, "data-state": r.state});
  const pick = el("td", {class: "pick"});
  if (allowRefresh) {
    const box = el("input", {type: "checkbox", checked: picked.has(r.key), title: "select for Refresh selected"});
    box.addEventListener("click", (e) => { e.stopPropagation(); box.checked ? picked.add(r.key) : picked.delete(r.key); render(); });
    pick.append(box);
  }
  const act = el("td", {class: "act"});
  if (allowRefresh) {
    const button = el("button", {type: "button", class: "refresh", title: "ESO force-sync"}, "Refresh");
    button.addEventListener("click", (e) => { e.stopPropagation(); refresh([r]); });
    act.append(button);
  }
  tr.append(pick, el("td", {class: "namespace"}, r.namespace), el("td", {class: "name"}, r.name),
    el("td", {class: "store"}, r.store), el("td", {class: `state state-${r.state}`}, r.state),
    el("td", {class: "missing mono"}, r.missingKeys.join(", ")),
    el("td", {class: "reason", title: r.message}, r.reason),
    el("td", {class: "synced", title: r.refreshTime}, ago(r.refreshTime)), act);
  tr.addEventListener("click", () => openDetail(r.key));
  return tr;
}

function renderCounts(shown) {
  const n = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const r of shown) n[r.state] = (n[r.state] || 0) + 1;
  $("counts").replaceChildren(el("span", {class: "total"}, `${shown.length} shown`),
    ...STATES.filter((s) => n[s]).map((s) => el("span", {class: `state-${s}`, "data-state": s}, `${s}: ${n[s]}`)));
}

function ago(stamp) {
  if (!stamp) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(stamp)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : s < 86400 ? `${Math.floor(s / 3600)}h ago`
    : `${Math.floor(s / 86400)}d ago`;
}

function showConnection() {
  const c = $("connection");
  const ok = serverUp && cluster.connected;
  c.className = `connection ${ok ? "ok" : "lost"}`;
  c.dataset.connected = String(ok);
  c.textContent = !serverUp ? "ui server unreachable" : ok ? "connected" : `cluster unreachable: ${cluster.message}`;
}

async function openDetail(key) {
  openKey = key;
  const r = rows.get(key);
  if (!r) return;
  render();
  const q = new URLSearchParams({namespace: r.namespace, name: r.name});
  const answer = await fetch(`/api/detail?${q}`);
  if (openKey !== key) return;
  const d = await answer.json();
  const body = $("detail-body");
  if (!answer.ok) { body.replaceChildren(el("p", {}, d.error || "not found")); $("detail").hidden = false; return; }
  const table = (heads, items) => el("table", {}, el("tr", {}, ...heads.map((h) => el("th", {}, h))),
    ...items.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))));
  const parts = [el("h2", {}, `${d.row.namespace}/${d.row.name}`),
    el("p", {}, el("span", {class: `state state-${d.row.state}`}, d.row.state), ` · ${d.row.store} · Secret `,
      el("code", {}, d.secret))];
  parts.push(el("h3", {}, "Data mapping"), d.mapping.length ? table(["Secret key", "Store", "Key", "Property"],
    d.mapping.map((m) => m.note ? [el("span", {class: "muted"}, m.note), "", "", ""] : [m.secretKey, m.store, m.key, m.property]))
    : el("p", {class: "muted"}, "no data entries"));
  parts.push(el("h3", {}, "Conditions"), d.conditions.length ? table(["Type", "Status", "Reason", "Message"],
    d.conditions.map((c) => [c.type, c.status, c.reason, c.message])) : el("p", {class: "muted"}, "none yet"));
  parts.push(el("h3", {}, "Latest Warning events"), d.events.length ? table(["When", "Reason", "Message"],
    d.events.map((e) => [ago(e.time), e.reason, e.message])) : el("p", {class: "muted"}, "none"));
  parts.push(el("h3", {}, "Secret keys"), d.secretKeys === null ? el("p", {class: "muted"}, "no Secret")
    : d.secretKeys.length ? el("ul", {class: "keys"}, ...d.secretKeys.map((k) =>
      el("li", {class: "mono", "data-key": k.name}, k.name, k.empty ? el("span", {class: "muted"}, " (empty)") : "")))
    : el("p", {class: "muted"}, "no keys"));
  body.replaceChildren(...parts);
  $("detail").hidden = false;
}

async function refresh(list) {
  $("notice").textContent = `requesting a sync of ${list.length}…`;
  const answer = await fetch("/api/refresh", {method: "POST",
    headers: {"Content-Type": "application/json", "X-Requested-By": "jxsecret-ui"},
    body: JSON.stringify({items: list.map((r) => ({namespace: r.namespace, name: r.name}))})});
  const d = await answer.json();
  $("notice").textContent = answer.ok
    ? `force-sync requested for ${d.requested}` + (d.skipped.length ? `; skipped: ${d.skipped.map((s) => `${s.namespace}/${s.name} (${s.reason})`).join(", ")}` : "")
    : `refresh failed: ${d.error}`;
}

function apply(message) {
  if (message.type === "snapshot") {
    rows.clear();
    for (const r of message.rows) rows.set(r.key, r);
    cluster = message.connection;
    loading = message.loading;
  } else if (message.type === "row") {
    rows.set(message.row.key, message.row);
  } else if (message.type === "delete") {
    rows.delete(message.key); picked.delete(message.key);
  } else if (message.type === "connection") {
    cluster = message;
  }
  showConnection();
  render();
  if (message.type !== "connection" && openKey && openKey === (message.row || {}).key) openDetail(openKey);
}

async function start() {
  const first = await fetch("/api/rows");
  const d = await first.json();
  allowRefresh = d.allowRefresh;
  apply(d);
  const events = new EventSource("/api/events");
  events.onmessage = (e) => { serverUp = true; apply(JSON.parse(e.data)); };
  events.onerror = () => { serverUp = false; showConnection(); };
  events.onopen = () => { serverUp = true; showConnection(); };
}

$("filter").addEventListener("input", render);
$("close-detail").addEventListener("click", () => { openKey = null; $("detail").hidden = true; render(); });
$("refresh-selected").addEventListener("click", () => refresh([...picked].map((k) => rows.get(k)).filter(Boolean)));
setInterval(render, 30000);  // "5s ago" ages; no request
start();

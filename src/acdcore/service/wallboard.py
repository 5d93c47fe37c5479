"""``/wallboard``: a wallboard page for a big screen (plain HTML, CSS and JavaScript).

The page holds no data and needs no token to load; it asks for one (a
``monitor`` token is enough; it is kept in the tab's ``sessionStorage``, or
given in the address as ``#token=...``, which browsers never send to the
server). It then reads ``kpis`` and ``agents`` over HTTP, and refreshes
them whenever the WebSocket ``stream`` says something happened (and every
few seconds, so waits keep counting). It shows per queue the calls waiting,
the longest wait (of calls waiting or ringing), the service level against
its target, the abandon rate and the estimated wait of a new caller; the
number of agents in each state (available, ringing, on a call, wrap-up,
paused); and each agent with its state, a paused agent's with its reason.
With a hot standby it names the node it is served by, its role, and the
primary (from ``/health``). URLs are relative, so the page works where the
app is mounted.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

__all__ = ["PAGE", "wallboard_page"]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>acdcore wallboard</title>
<style>
  :root { --bg:#0d1117; --fg:#e6edf3; --dim:#8b949e; --ok:#3fb950; --warn:#d29922; --bad:#f85149; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--fg);
         font: 2.2vw/1.25 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display:flex; justify-content:space-between; align-items:baseline; padding:.6em 1em; }
  header h1 { font-size:1.3em; margin:0; }
  #status { color:var(--dim); font-size:.8em; }
  #node { font-size:.8em; padding:.1em .5em; border-radius:.3em; background:#161b22; }
  #node.primary { border-left:.4em solid var(--ok); } #node.standby { border-left:.4em solid var(--warn); }
  main { padding:0 1em 1em; }
  table { width:100%; border-collapse:collapse; }
  th { color:var(--dim); font-weight:500; font-size:.8em; text-align:right; padding:.2em .5em;
       white-space:nowrap; }
  td { font-size:1.6em; font-variant-numeric:tabular-nums; text-align:right; padding:.15em .5em;
       border-top:1px solid #30363d; }
  th:first-child, td:first-child { text-align:left; }
  .ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
  #counts { display:flex; gap:.5em; margin-top:.8em; }
  .count { flex:1; padding:.1em .5em .3em; border-radius:.3em; background:#161b22; }
  .count b { display:block; font-size:2.2em; font-variant-numeric:tabular-nums; }
  .count span { font-size:.9em; }
  #agents { display:flex; flex-wrap:wrap; gap:.5em; margin-top:.8em; }
  .agent { padding:.3em .6em; border-radius:.3em; background:#161b22; font-size:1.1em; }
  .agent small { display:block; color:#c9d1d9; font-size:.7em; }
  .agent.paused small { color:#ffa198; font-weight:600; }
  .available { border-left:.4em solid var(--ok); } .ringing { border-left:.4em solid var(--warn); }
  .busy { border-left:.4em solid #58a6ff; } .wrap-up { border-left:.4em solid #a371f7; }
  .paused { border-left:.4em solid var(--bad); } .logged-out { opacity:.4; }
  #login { padding:2em; } #login input { font-size:1em; width:60%; }
</style>
</head>
<body>
<header><h1>Queues</h1><span id="node" hidden></span><span id="status">connecting...</span></header>
<main>
  <form id="login" hidden>
    <p>Token (a monitor token is enough):</p>
    <input id="token" type="password" autocomplete="off"> <button>Show</button>
  </form>
  <table id="board" hidden>
    <thead><tr><th>Queue</th><th>Waiting</th><th>Longest</th><th>SL today</th>
      <th>Target</th><th>Abandoned</th><th>Est. wait</th><th>With agents</th></tr></thead>
    <tbody id="queues"></tbody>
  </table>
  <div id="counts"></div>
  <div id="agents"></div>
</main>
<script>
"use strict";
const base = new URL(".", location.href);
let token = new URLSearchParams(location.hash.slice(1)).get("token")
  || sessionStorage.getItem("acdcore-token");
let lastSeq = null, timer = null, socket = null, role = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function secs(s) {
  if (s === null || s === undefined) return "-";
  s = Math.round(s);
  return s < 60 ? s + "s" : Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0");
}
const STATES = [["available", "available"], ["ringing", "ringing"], ["busy", "on a call"],
  ["wrap-up", "wrap-up"], ["paused", "paused"]];
const LABEL = Object.fromEntries(STATES);
function pct(x) { return x === null || x === undefined ? "-" : Math.round(x * 100) + "%"; }
function status(text) { document.getElementById("status").textContent = text; }

async function get(path) {
  const r = await fetch(new URL(path, base), { headers: { Authorization: "Bearer " + token } });
  if (r.status === 401) { askToken(); throw new Error("unauthorized"); }
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

function drawQueues(k) {
  const body = document.getElementById("queues");
  body.replaceChildren();
  for (const [name, q] of Object.entries(k.queues)) {
    const tr = el("tr");
    tr.append(el("td", "", name), el("td", q.waiting > 0 ? "warn" : "", q.waiting),
      el("td", "", secs(q.longest_waiting)));
    const sl = q.service_level;
    const cls = sl === null || q.target === null ? "" : sl >= q.target ? "ok" : "bad";
    tr.append(el("td", cls, pct(sl)), el("td", "", pct(q.target)),
      el("td", "", pct(q.abandon_rate)),
      el("td", "", q.estimated_wait.known ? secs(q.estimated_wait.seconds) : "-"),
      el("td", "", q.ringing + q.connected));
    body.append(tr);
  }
  const counts = document.getElementById("counts");
  counts.replaceChildren();
  for (const [state, label] of STATES) {
    const c = el("div", "count " + state);
    c.dataset.state = state;
    c.append(el("b", "", k.agents[state] || 0), el("span", "", label));
    counts.append(c);
  }
}

function drawAgents(list) {
  const box = document.getElementById("agents");
  box.replaceChildren();
  for (const a of list) {
    if (a.state === "logged-out") continue;
    const d = el("div", "agent " + a.state, a.agent_id);
    d.dataset.agent = a.agent_id;
    d.append(el("small", "", a.state === "paused" && a.paused_reason
      ? "paused: " + a.paused_reason : LABEL[a.state] || a.state));
    box.append(d);
  }
}

async function drawNode() {
  // With a hot standby, /health names this node, its role and the primary.
  const r = await fetch(new URL("health", base));
  const h = await r.json();
  const box = document.getElementById("node");
  const rep = h.replication;
  if (!rep) { box.hidden = true; return; }
  const primary = !rep.leader ? "unknown"
    : /^[0-9]+:/.test(rep.leader) ? rep.leader.split(":").slice(1).join(":") : rep.leader;
  box.className = rep.role;
  box.textContent = rep.role === "primary"
    ? "primary: " + rep.node + " (term " + rep.epoch + ")"
    : rep.role + ": " + rep.node + ", primary " + primary;
  box.dataset.role = role = rep.role;
  box.hidden = false;
}

async function refresh() {
  timer = null;
  drawNode().catch(() => {});
  try {
    const [k, ag] = await Promise.all([get("kpis"), get("agents").catch(() => ({ agents: [] }))]);
    drawQueues(k);
    drawAgents(ag.agents);
    document.getElementById("board").hidden = false;
  } catch (e) { status(String(e.message || e)); }
}
function soon() { if (timer === null) timer = setTimeout(refresh, 300); }

function connect() {
  const url = new URL("stream", base);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (lastSeq !== null) url.searchParams.set("since", lastSeq + 1);
  socket = new WebSocket(url);
  socket.onopen = () => socket.send(JSON.stringify({ token }));
  socket.onmessage = (m) => {
    const data = JSON.parse(m.data);
    if (data.hello) {
      status("live");
      if (lastSeq === null) lastSeq = data.hello.next_seq - 1;
      soon();
    } else if (data.error) {
      status(data.error + ": " + data.message);
      if (data.error === "Trimmed") lastSeq = null;
      if (data.error === "Unauthorized") askToken();
    } else {
      lastSeq = data.seq;
      soon();
    }
  };
  socket.onclose = (e) => {
    if (e.code === 4401 || e.code === 4403) return;
    // A standby serves views only: its stream opens once it takes over.
    status(role === "standby" ? "following the primary" : "reconnecting...");
    setTimeout(connect, 2000);
  };
}

function askToken() {
  const form = document.getElementById("login");
  form.hidden = false;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    token = document.getElementById("token").value;
    sessionStorage.setItem("acdcore-token", token);
    form.hidden = true;
    start();
  };
}

function start() {
  if (!token) { askToken(); return; }
  if (location.hash) history.replaceState(null, "", location.pathname);
  refresh();
  connect();
  setInterval(refresh, 5000);
}
start();
</script>
</body>
</html>
"""


async def wallboard_page(request: Request) -> Response:
    """The wallboard page (no token needed: it holds no data)."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})

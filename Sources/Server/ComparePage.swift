/// The compare page served at `/`: one message sent to two to four model ids at once, the answers streamed
/// side by side with token counts and timings; embedded as a string (HTML, CSS and JS inline, no external
/// assets) so the binary has no resource bundle to ship.
enum ComparePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem · Compare models</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1d232b; --muted: #5f6b7a; --line: #dde2e8;
  --accent: #2f6fde; --accent-text: #ffffff; --error: #b42318; --error-bg: #fdf0ef;
  --ok: #18794e; --code: #f0f2f5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181d; --panel: #1e2228; --text: #e5e9ee; --muted: #98a2b0; --line: #323841;
    --accent: #5b8ff0; --error: #ff8a80; --error-bg: #3a2020; --ok: #6fd4a0; --code: #262b33;
  }
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap;
  padding: .9rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 1.15rem; margin: 0; }
header .sub { color: var(--muted); font-size: .9rem; }
header .key { margin-left: auto; display: flex; align-items: center; gap: .5rem; font-size: .9rem; }
header .key input { width: 14rem; }
main { padding: 1.2rem 1.5rem 2rem; max-width: 1500px; margin: 0 auto; }
form { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.1rem; }
label { font-size: .85rem; color: var(--muted); display: block; margin-bottom: .25rem; }
textarea, input, select { font: inherit; color: inherit; background: var(--bg);
  border: 1px solid var(--line); border-radius: 6px; padding: .45rem .55rem; }
textarea:focus, input:focus, select:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
textarea { width: 100%; min-height: 4.5rem; resize: vertical; }
.models { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: .75rem; margin-top: .9rem; }
.models select { width: 100%; }
.row { display: flex; align-items: flex-end; gap: .9rem; flex-wrap: wrap; margin-top: .9rem; }
.row input[type=number] { width: 7.5rem; }
.row .hint { color: var(--muted); font-size: .8rem; padding-bottom: .5rem; }
.row .buttons { margin-left: auto; display: flex; gap: .5rem; }
button { font: inherit; border-radius: 6px; padding: .5rem 1.2rem; cursor: pointer;
  border: 1px solid var(--line); background: var(--panel); color: var(--text); }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); font-weight: 600; }
button:disabled { opacity: .5; cursor: default; }
#notice { margin-top: .8rem; padding: .55rem .8rem; border-radius: 6px; background: var(--error-bg);
  color: var(--error); font-size: .9rem; }
#notice:empty { display: none; }
#results { display: grid; gap: .9rem; margin-top: 1.2rem;
  grid-template-columns: repeat(var(--cols, 2), minmax(0, 1fr)); }
.col { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; display: flex;
  flex-direction: column; min-height: 12rem; overflow: hidden; }
.col-head { padding: .65rem .9rem; border-bottom: 1px solid var(--line); display: flex; align-items: center;
  gap: .5rem; }
.col-model { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-weight: 600;
  font-size: .92rem; overflow-wrap: anywhere; }
.col-kind { color: var(--muted); font-size: .78rem; }
.badge { margin-left: auto; font-size: .72rem; text-transform: uppercase; letter-spacing: .04em;
  padding: .12rem .5rem; border-radius: 999px; border: 1px solid var(--line); color: var(--muted);
  white-space: nowrap; }
.col[data-state=streaming] .badge { color: var(--accent); border-color: var(--accent); }
.col[data-state=done] .badge { color: var(--ok); border-color: var(--ok); }
.col[data-state=error] .badge { color: var(--error); border-color: var(--error); }
.col-text { flex: 1; margin: 0; padding: .8rem .9rem; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: inherit; font-size: .95rem; }
.col[data-state=streaming] .col-text::after { content: "▍"; color: var(--accent); }
.col-error { margin: 0 .9rem .8rem; padding: .55rem .7rem; border-radius: 6px; background: var(--error-bg);
  color: var(--error); font-size: .88rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.col-error:empty { display: none; }
.col[data-state=error] .col-text:empty, .col[data-state=stopped] .col-text:empty { display: none; }
.col[data-state=error] .col-error { margin-top: .8rem; flex: 1; align-self: stretch; }
.stats { margin: 0; display: grid; grid-template-columns: repeat(3, 1fr); border-top: 1px solid var(--line);
  background: var(--code); }
.stats div { padding: .45rem .9rem; }
.stats dt { font-size: .72rem; color: var(--muted); }
.stats dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; font-size: .92rem; }
footer { color: var(--muted); font-size: .8rem; margin-top: 1.2rem; }
code { background: var(--code); padding: .05rem .3rem; border-radius: 4px; }
@media (max-width: 900px) {
  .models { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  #results { grid-template-columns: 1fr; }
}
</style>
</head>
<body>
<header>
  <h1>Tandem · Compare models</h1>
  <span class="sub">one message, several adapters and roles, answers side by side</span>
  <div class="key">
    <label for="api-key" style="margin:0">API key</label>
    <input id="api-key" type="password" placeholder="only if the server needs one" autocomplete="off">
  </div>
</header>
<main>
  <form id="compare-form" autocomplete="off">
    <label for="message">Message</label>
    <textarea id="message" placeholder="Type a message, e.g. What is the capital of France?" required></textarea>
    <div class="models">
      <div><label for="model-1">Model 1</label><select id="model-1" class="model-select"></select></div>
      <div><label for="model-2">Model 2</label><select id="model-2" class="model-select"></select></div>
      <div><label for="model-3">Model 3 (optional)</label><select id="model-3" class="model-select"></select></div>
      <div><label for="model-4">Model 4 (optional)</label><select id="model-4" class="model-select"></select></div>
    </div>
    <div class="row">
      <div><label for="max-tokens">max_tokens</label>
        <input id="max-tokens" type="number" min="1" step="1" placeholder="default"></div>
      <div><label for="temperature">temperature</label>
        <input id="temperature" type="number" min="0" max="2" step="0.1" placeholder="default"></div>
      <span class="hint">Empty fields use the role's defaults. Ctrl+Enter compares.</span>
      <div class="buttons">
        <button type="button" id="reload">Reload models</button>
        <button type="button" id="stop" disabled>Stop</button>
        <button type="submit" id="compare" class="primary">Compare</button>
      </div>
    </div>
    <div id="notice" role="alert"></div>
  </form>
  <section id="results" aria-live="polite"></section>
  <footer>Requests go to <code>POST /v1/chat/completions</code> with <code>stream: true</code>, all at the same time
    (the server batches them together); model ids come from <code>GET /v1/models</code>. Time to first token and
    total time are measured in this browser; decode tok/s counts the tokens after the first.</footer>
</main>
<script>
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const KEY_STORE = "tandem.apiKey", FORM_STORE = "tandem.compare";
  const selects = Array.from(document.querySelectorAll(".model-select"));
  let models = [];
  let controllers = [];

  // ----- small helpers ---------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }
  function notice(text) { $("notice").textContent = text || ""; }
  function loadSaved() {
    try { return JSON.parse(localStorage.getItem(FORM_STORE) || "{}") || {}; } catch (e) { return {}; }
  }
  function saveForm() {
    try {
      localStorage.setItem(FORM_STORE, JSON.stringify({
        message: $("message").value, maxTokens: $("max-tokens").value, temperature: $("temperature").value,
        models: selects.map((s) => s.value)
      }));
    } catch (e) { /* storage may be disabled */ }
  }
  // An OpenAI error body {"error": {"message", "type", "code", "param"}} as one readable line.
  function describeError(body, status) {
    const err = body && typeof body === "object" ? (body.error || body) : null;
    if (err && typeof err === "object" && err.message) {
      const tags = [err.type, err.code].filter(Boolean).join(" / ");
      return (status ? "HTTP " + status + ": " : "") + err.message + (tags ? " (" + tags + ")" : "");
    }
    return (status ? "HTTP " + status + ": " : "") + (typeof body === "string" && body ? body : "request failed");
  }
  function kindOf(m) {
    if (m.adapter && m.role) return "adapter " + m.adapter + ", role " + m.role;
    if (m.adapter) return "adapter " + m.adapter + " (its default role)";
    if (m.role) return "base + role " + m.role + " (prompt only)";
    return "base model, no adapter, no role";
  }
  function groupOf(m) {
    if (m.adapter && m.role) return 3;
    if (m.adapter) return 2;
    if (m.role) return 1;
    return 0;
  }
  const GROUPS = ["Base model", "Base + role (prompt engineering)", "Adapter", "Adapter + role"];

  // ----- model list ------------------------------------------------------------------------
  async function loadModels() {
    notice("");
    const previous = selects.map((s) => s.value);
    let res, body;
    try {
      res = await fetch("/v1/models", { headers: headers() });
      const text = await res.text();
      try { body = JSON.parse(text); } catch (e) { body = text; }
    } catch (e) {
      notice("Could not reach the server: " + e.message);
      return;
    }
    if (!res.ok) {
      notice("Loading the model list failed. " + describeError(body, res.status) +
             (res.status === 401 ? " Enter the API key above." : ""));
      return;
    }
    models = (body && Array.isArray(body.data) ? body.data : []).slice();
    models.sort((a, b) => groupOf(a) - groupOf(b) || String(a.id).localeCompare(String(b.id)));
    const saved = loadSaved().models || [];
    const defaults = [
      (models.find((m) => groupOf(m) === 1) || models[0] || {}).id,
      (models.find((m) => groupOf(m) === 2) || models[1] || {}).id, "", ""];
    selects.forEach((select, i) => {
      select.textContent = "";
      const none = el("option", "", i < 2 ? "— choose a model —" : "— none —");
      none.value = "";
      select.appendChild(none);
      GROUPS.forEach((title, g) => {
        const inGroup = models.filter((m) => groupOf(m) === g);
        if (!inGroup.length) return;
        const group = el("optgroup");
        group.label = title;
        inGroup.forEach((m) => {
          const option = el("option", "", m.id);
          option.value = m.id;
          option.title = kindOf(m);
          group.appendChild(option);
        });
        select.appendChild(group);
      });
      const wanted = [previous[i], saved[i], defaults[i]].find((v) => v !== undefined && v !== null &&
        (v === "" ? i >= 2 : models.some((m) => m.id === v)));
      select.value = wanted === undefined ? "" : wanted;
    });
    if (!models.length) notice("The server lists no models.");
  }

  // ----- one column ------------------------------------------------------------------------
  function makeColumn(modelId) {
    const info = models.find((m) => m.id === modelId);
    const col = el("article", "col");
    col.dataset.model = modelId;
    col.dataset.state = "waiting";
    const head = el("div", "col-head");
    const titles = el("div");
    titles.appendChild(el("div", "col-model", modelId));
    titles.appendChild(el("div", "col-kind", info ? kindOf(info) : ""));
    head.appendChild(titles);
    const badge = el("span", "badge", "waiting");
    head.appendChild(badge);
    col.appendChild(head);
    const text = el("pre", "col-text");
    col.appendChild(text);
    const error = el("div", "col-error");
    col.appendChild(error);
    const stats = el("dl", "stats");
    const fields = {};
    [["prompt_tokens", "prompt tokens"], ["completion_tokens", "completion tokens"], ["finish_reason", "finish"],
     ["ttft", "time to first token"], ["total", "total time"], ["tps", "decode tok/s"]].forEach(([key, label]) => {
      const box = el("div");
      box.appendChild(el("dt", "", label));
      const dd = el("dd", "", "–");
      dd.dataset.stat = key;
      box.appendChild(dd);
      stats.appendChild(box);
      fields[key] = dd;
    });
    col.appendChild(stats);
    return {
      col, text, error, fields,
      setState(state, label) { col.dataset.state = state; badge.textContent = label || state; }
    };
  }

  const seconds = (ms) => (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";

  // ----- one streamed request --------------------------------------------------------------
  async function run(column, modelId, payload, controller) {
    const t0 = performance.now();
    let firstAt = null, usage = null, finish = null, pieces = 0, done = false;
    const finishStats = () => {
      const end = performance.now();
      const f = column.fields;
      f.total.textContent = seconds(end - t0);
      if (firstAt !== null) f.ttft.textContent = seconds(firstAt - t0);
      const completion = usage && typeof usage.completion_tokens === "number" ? usage.completion_tokens : null;
      if (usage && typeof usage.prompt_tokens === "number") f.prompt_tokens.textContent = String(usage.prompt_tokens);
      f.completion_tokens.textContent = completion !== null ? String(completion) : (pieces ? "≈" + pieces : "–");
      const n = completion !== null ? completion : pieces;
      if (firstAt !== null && n > 1 && end > firstAt)
        f.tps.textContent = ((n - 1) / ((end - firstAt) / 1000)).toFixed(1);
      if (finish) f.finish_reason.textContent = finish;
    };
    const fail = (message) => {
      column.error.textContent = message;
      column.setState("error");
    };
    const handle = (data) => {
      if (data === "[DONE]") { done = true; return; }
      let chunk;
      try { chunk = JSON.parse(data); } catch (e) { return; }
      if (chunk.error) { fail(describeError(chunk)); done = true; return; }
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices || []) {
        const delta = choice.delta || {};
        if (typeof delta.content === "string" && delta.content.length) {
          if (firstAt === null) { firstAt = performance.now(); column.fields.ttft.textContent = seconds(firstAt - t0); }
          column.text.textContent += delta.content;
          pieces += 1;
          column.fields.completion_tokens.textContent = "≈" + pieces;
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    };
    column.setState("streaming", "starting");
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(), body: JSON.stringify(payload), signal: controller.signal
      });
      const type = res.headers.get("content-type") || "";
      if (!res.ok || !type.includes("text/event-stream")) {
        const raw = await res.text();
        let body;
        try { body = JSON.parse(raw); } catch (e) { body = raw; }
        if (res.ok && body && body.choices) {  // a server that answered without streaming
          const message = (body.choices[0] || {}).message || {};
          column.text.textContent = message.content || "";
          firstAt = performance.now();
          usage = body.usage || null;
          finish = (body.choices[0] || {}).finish_reason || null;
        } else {
          fail(describeError(body, res.status));
          finishStats();
          return;
        }
      } else {
        column.setState("streaming", "streaming");
        // Server-sent events: lines "data: ..." accumulate until a blank line ends the event.
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "", dataLines = [];
        const line = (text) => {
          if (text === "") {
            if (dataLines.length) { handle(dataLines.join("\n")); dataLines = []; }
          } else if (text.startsWith("data:")) {
            dataLines.push(text.slice(5).replace(/^ /, ""));
          }  // comments (":") and other fields are ignored
        };
        for (;;) {
          const { value, done: streamDone } = await reader.read();
          if (streamDone) break;
          buffer += decoder.decode(value, { stream: true });
          const lines = buffer.split(/\r\n|\r|\n/);
          buffer = lines.pop();
          lines.forEach(line);
          if (done) { try { await reader.cancel(); } catch (e) { /* already closed */ } break; }
        }
        buffer += decoder.decode();
        if (buffer) line(buffer);
        line("");
        if (column.col.dataset.state === "error") { finishStats(); return; }
        if (!done) { fail("The stream ended without [DONE]."); finishStats(); return; }
      }
      finishStats();
      column.setState("done");
    } catch (e) {
      finishStats();
      if (e && e.name === "AbortError") { column.setState("stopped"); column.error.textContent = "Stopped."; }
      else fail("Request failed: " + (e && e.message ? e.message : e));
    }
  }

  // ----- compare ---------------------------------------------------------------------------
  async function compare(event) {
    if (event) event.preventDefault();
    if (controllers.length) return;  // a comparison is still running
    notice("");
    const message = $("message").value;
    const ids = selects.map((s) => s.value).filter(Boolean);
    if (!message.trim()) { notice("Type a message first."); return; }
    if (ids.length < 2) { notice("Choose at least two models."); return; }
    saveForm();
    const payloadBase = {
      messages: [{ role: "user", content: message }],
      stream: true, stream_options: { include_usage: true }
    };
    const maxTokens = $("max-tokens").value.trim(), temperature = $("temperature").value.trim();
    if (maxTokens !== "") payloadBase.max_tokens = parseInt(maxTokens, 10);
    if (temperature !== "") payloadBase.temperature = parseFloat(temperature);

    const results = $("results");
    results.textContent = "";
    results.style.setProperty("--cols", String(ids.length));
    controllers = ids.map(() => new AbortController());
    $("compare").disabled = true;
    $("stop").disabled = false;
    const runs = ids.map((id, i) => {
      const column = makeColumn(id);
      results.appendChild(column.col);
      return run(column, id, Object.assign({ model: id }, payloadBase), controllers[i]);
    });
    await Promise.allSettled(runs);
    controllers = [];
    $("compare").disabled = false;
    $("stop").disabled = true;
    results.dataset.finished = String(Date.now());
  }

  // ----- wiring ----------------------------------------------------------------------------
  try { $("api-key").value = localStorage.getItem(KEY_STORE) || ""; } catch (e) { /* no storage */ }
  $("api-key").addEventListener("change", () => {
    try {
      const key = $("api-key").value.trim();
      if (key) localStorage.setItem(KEY_STORE, key); else localStorage.removeItem(KEY_STORE);
    } catch (e) { /* no storage */ }
    loadModels();
  });
  const saved = loadSaved();
  if (typeof saved.message === "string") $("message").value = saved.message;
  if (typeof saved.maxTokens === "string") $("max-tokens").value = saved.maxTokens;
  if (typeof saved.temperature === "string") $("temperature").value = saved.temperature;
  $("compare-form").addEventListener("submit", compare);
  $("message").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) compare(e);
  });
  $("reload").addEventListener("click", loadModels);
  $("stop").addEventListener("click", () => controllers.forEach((c) => c.abort()));
  selects.forEach((s) => s.addEventListener("change", saveForm));
  loadModels().then(() => { document.body.dataset.ready = "true"; });
})();
</script>
</body>
</html>
"""#
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// One session: the big progress bar with an ETA, its failed drops (error and captured
// output), its graph coloured by state, its drops in a list, and a cancel button.
//
// Live: the session's event stream (GET /api/liuray/sessions/{sid}/events) carries the
// counts and the drops that changed; `progress` (failures, times) and `graph/status`
// (every drop) are re-read only when needed (an error appeared, the stream said it
// truncated, the session ended) and at most once a second however big the session is.
import {
  CATEGORIES, HttpError, api, cancelButton, categoryCounts, categoryOf, connection,
  countsText, doneFraction, drawBar, duration, el, follow, formatDuration, formatTime,
  isLive, setupPage, throttled, token,
} from "./common.js";
import { GraphView } from "./graph.js";
import { Timeline } from "./timeline.js";

const params = new URLSearchParams(location.search);
const sessionId = params.get("sessionId") || "";
const base = `/api/sessions/${encodeURIComponent(sessionId)}`;
const $ = (id) => document.getElementById(id);

let progress = null; // GET .../progress
let specs = null; // GET .../graph (read when the graph or list view first opens)
const states = new Map(); // oid -> category, once specs are read
let statesLoaded = false;
let stream = null;
let lastErrors = -1;
const samples = []; // [seconds, settled drops] for the ETA
const details = new Map(); // oid -> drop detail (failures' output)

// ---------------------------------------------------------------- progress and summary

const refreshProgress = throttled(async () => {
  try {
    progress = await api(`/api/liuray/sessions/${encodeURIComponent(sessionId)}/progress`);
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return notFound(err);
    throw err;
  }
  renderSummary();
  renderFailures();
}, 1000);

function notFound(err) {
  $("not-found").hidden = false;
  $("not-found").textContent = `No session ${sessionId}: ${err.message}`;
  $("session-state").textContent = "unknown";
  if (stream) stream.close();
}

function renderSummary() {
  if (!progress) return;
  document.title = `${sessionId} · ${progress.state} · liuray`;
  $("session-state").textContent = progress.state;
  $("session-state").className = `state ${progress.state}`;
  $("started").textContent = formatTime(progress.created);
  $("duration").textContent = formatDuration(duration(progress.created, progress.ended));
  $("total").textContent = String(progress.total);
  $("nodes").textContent = progress.nodes.join(", ") || "—";
  const finished = progress.state === "finished";
  const percent = finished ? 100 : drawBar($("progress"), progress.counts, progress.total);
  if (finished) drawBar($("progress"), progress.counts, progress.total);
  $("progress").dataset.percent = String(percent);
  $("percent").textContent = `${percent}%`;
  const byCategory = categoryCounts(progress.counts);
  $("legend").replaceChildren(...CATEGORIES.map((c) => el("span", { class: `count-${c}` },
    el("span", { class: `swatch ${c}`, "aria-hidden": "true" }), `${c} ${byCategory[c]}`)));
  $("eta").textContent = eta(byCategory);
  $("session-error").hidden = !progress.error;
  $("session-error").textContent = progress.error || "";
  const slot = $("cancel-slot");
  if (isLive(progress.state) && !slot.firstChild) {
    slot.append(cancelButton(sessionId, refreshProgress));
  } else if (!isLive(progress.state)) slot.replaceChildren();
  if (byCategory.error !== lastErrors) {
    if (lastErrors >= 0) refreshProgress(); // new failures: read them
    lastErrors = byCategory.error;
  }
}

/** "about 2 min left", from the settling rate over the last minute. */
function eta(byCategory) {
  if (!progress || progress.state !== "running" || !progress.total) return "";
  const settled = doneFraction(byCategory, progress.total) * progress.total;
  const now = Date.now() / 1000;
  samples.push([now, settled]);
  while (samples.length > 2 && now - samples[0][0] > 60) samples.shift();
  const [t0, s0] = samples[0];
  if (now - t0 < 2 || settled <= s0) return samples.length > 1 ? "estimating time left…" : "";
  const left = ((progress.total - settled) * (now - t0)) / (settled - s0);
  return `about ${formatDuration(left)} left`;
}

// ---------------------------------------------------------------- failures

function renderFailures() {
  const failures = progress.failures || [];
  $("no-failures").hidden = failures.length > 0;
  $("no-failures").textContent = progress.error
    ? `No drop failed; the session failed: ${progress.error}` : "No drop has failed.";
  const rows = failures.slice(0, 200).map((failure, i) => {
    const output = el("div", { class: "output" });
    const row = el("tr", { "data-oid": failure.oid },
      el("td", {}, el("code", {}, failure.oid)),
      el("td", {}, failure.node),
      el("td", {}, el("div", { class: "error" }, failure.error), output));
    showOutput(failure.oid, output, i < 10);
    return row;
  });
  $("failures").querySelector("tbody").replaceChildren(...rows);
}

/** The drop's captured output: read at once for the first failures, on demand after. */
function showOutput(oid, container, now) {
  const fill = (detail) => {
    const logs = (detail.logs || []).join("\n").trim();
    container.replaceChildren(logs ? el("pre", { class: "logs" }, logs) : el("span", { class: "muted" }, "no output captured"));
  };
  if (details.has(oid)) return fill(details.get(oid));
  const read = async () => {
    const detail = await api(`${base}/graph/drop/${encodeURIComponent(oid)}`);
    details.set(oid, detail);
    fill(detail);
  };
  if (now) read().catch(() => {});
  else container.replaceChildren(el("button", { type: "button", onclick: () => read() }, "Show output"));
}

// ---------------------------------------------------------------- drops: graph and list

let graphView = null;
let loadingSpecs = null;

function loadSpecs() {
  loadingSpecs ||= (async () => {
    try {
      specs = await api(`${base}/graph`);
    } catch (err) {
      const message = err instanceof HttpError && err.status === 404
        ? "This session's graph is not kept (a past session, from the records)."
        : `Could not read the graph: ${err.message}`;
      $("graph-summary").textContent = message;
      $("list-count").textContent = message;
      return;
    }
    await refreshStates();
    if (!graphView) {
      graphView = new GraphView($("graph-canvas"), { onSelect: selectDrop, onLayout: renderGroups });
    }
    graphView.setGraph(specs);
    graphView.setStates(states);
    renderGroups();
    renderGraphSummary();
    renderList();
  })();
  return loadingSpecs;
}

async function refreshStates() {
  const status = await api(`${base}/graph/status`);
  for (const [oid, codes] of Object.entries(status)) {
    states.set(oid, categoryOf(codes.status, codes.execStatus));
  }
  statesLoaded = true;
  if (graphView) graphView.setStates(states);
  renderGraphSummary();
  renderListSoon();
}

const refreshStatesSoon = throttled(() => (specs ? refreshStates() : Promise.resolve()), 1000);

function applyChanges(changes) {
  if (!statesLoaded) return;
  for (const [oid, status, execStatus] of changes) {
    const category = categoryOf(status, execStatus);
    states.set(oid, category);
  }
  if (graphView) graphView.redraw();
  renderGraphSummary();
  renderListSoon();
}

function renderGraphSummary() {
  if (!specs) return;
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  for (const oid of Object.keys(specs)) counts[states.get(oid) || "waiting"] += 1;
  const total = Object.keys(specs).length;
  const parts = CATEGORIES.filter((c) => counts[c]).map((c) => `${c} ${counts[c]}`);
  $("graph-summary").textContent = `${total} drops: ${parts.join(" · ")}`;
  $("graph-summary").dataset.finished = String(counts.finished);
  $("graph-summary").dataset.total = String(total);
}

function renderGroups() {
  if (!graphView) return;
  const buttons = graphView.groupButtons();
  $("groups").replaceChildren(...(buttons.length
    ? [el("span", { class: "muted" }, "Open a group:"), ...buttons] : []));
}

async function selectDrop(drop, panel = $("drop-panel")) {
  panel.hidden = false;
  panel.replaceChildren(el("strong", {}, drop.oid), " loading…");
  try {
    const detail = await api(`${base}/graph/drop/${encodeURIComponent(drop.oid)}`);
    panel.replaceChildren(...dropDetail(drop, detail));
  } catch (err) {
    panel.replaceChildren(el("strong", {}, drop.oid), `: ${err.message}`);
  }
}

function dropDetail(drop, detail) {
  const rows = [
    ["name", drop.name], ["class", drop.dropclass], ["state", detail.execState || detail.state],
    ["node", detail.node], ["error", detail.error],
    ["started", formatTime(detail.started_at)],
    ["ran for", detail.finished_at && detail.started_at ? formatDuration(detail.finished_at - detail.started_at) : ""],
    ["size", detail.size !== undefined && detail.size !== null ? `${detail.size} bytes` : ""],
    ["data", detail.data_url],
  ].filter(([, value]) => value);
  const logs = (detail.logs || []).join("\n").trim();
  return [
    el("strong", {}, drop.oid), " ",
    (detail.data_url || "").startsWith("file:") ? downloadLink(drop.oid) : null,
    el("table", {}, el("tbody", {}, ...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, String(v)))))),
    logs ? el("pre", { class: "logs" }, logs) : null,
  ];
}

function downloadLink(oid) {
  const path = `/api/liuray/sessions/${encodeURIComponent(sessionId)}/drops/${encodeURIComponent(oid)}/content`;
  const href = token() ? `${path}?access_token=${encodeURIComponent(token())}` : path;
  return el("a", { href, download: "", class: "download" }, "Download");
}

let listPending = false;
function renderListSoon() {
  if (listPending || $("view-list").hidden) return;
  listPending = true;
  setTimeout(() => {
    listPending = false;
    renderList();
  }, 1000);
}

const LIST_LIMIT = 500;
function renderList() {
  if (!specs || $("view-list").hidden) return;
  const words = $("drop-filter").value.trim().toLowerCase();
  const rows = [];
  let matched = 0;
  for (const [oid, spec] of Object.entries(specs)) {
    const category = states.get(oid) || "waiting";
    const name = spec.name || "";
    if (words && !`${oid} ${name} ${category} ${spec.dropclass || ""}`.toLowerCase().includes(words)) continue;
    matched += 1;
    if (rows.length >= LIST_LIMIT) continue;
    const isFile = /file|directory/i.test(spec.dropclass || "") && spec.categoryType === "Data";
    rows.push(el("tr", { "data-oid": oid },
      el("td", {}, el("code", {}, oid)), el("td", {}, name),
      el("td", {}, (spec.dropclass || "").split(".").pop()),
      el("td", {}, el("span", { class: `state ${category}` }, category)),
      el("td", {}, spec.node || ""),
      el("td", {}, isFile && category === "finished" ? downloadLink(oid) : null)));
  }
  $("drops").querySelector("tbody").replaceChildren(...rows);
  $("list-count").textContent = matched > LIST_LIMIT
    ? `showing ${LIST_LIMIT} of ${matched}; filter to narrow` : `${matched} drops`;
}

// ---------------------------------------------------------------- timeline

let timeline = null;

const refreshTimeline = throttled(async () => {
  if ($("view-timeline").hidden) return;
  const answer = await api(`/api/liuray/sessions/${encodeURIComponent(sessionId)}/timeline`);
  timeline ||= new Timeline($("timeline-canvas"), {
    onSelect: (app) => selectDrop({ oid: app.oid, name: app.name, dropclass: "" }, $("timeline-panel")),
  });
  timeline.set(answer.apps, Date.now() / 1000);
  const nodes = new Set(answer.apps.map((app) => app.node)).size;
  const starts = answer.apps.map((app) => app.started_at);
  $("timeline-summary").textContent = answer.apps.length
    ? `${answer.apps.length} apps ran on ${nodes} node${nodes === 1 ? "" : "s"}, from ${formatTime(Math.min(...starts))}`
      + (answer.truncated ? " (the first 2000 apps only)" : "") + ". Click a bar for its detail."
    : "No application has started yet.";
}, 3000);

// ---------------------------------------------------------------- views (tabs)

const VIEWS = ["progress-bar", "graph", "list", "timeline"];

function show(view, focus = false) {
  if (!VIEWS.includes(view)) view = "progress-bar";
  for (const name of VIEWS) {
    const tab = $(`tab-${name}`);
    tab.setAttribute("aria-selected", String(name === view));
    tab.tabIndex = name === view ? 0 : -1;
    $(`view-${name}`).hidden = name !== view;
    if (name === view && focus) tab.focus();
  }
  const url = new URL(location.href);
  url.searchParams.set("view", view);
  history.replaceState(null, "", url);
  if (view === "timeline") refreshTimeline();
  else if (view !== "progress-bar") {
    loadSpecs().then(() => {
      if (view === "graph" && graphView) graphView.fit();
      if (view === "list") renderList();
    });
  }
}

for (const tab of document.querySelectorAll('[role="tab"]')) {
  tab.addEventListener("click", () => show(tab.dataset.view));
  tab.addEventListener("keydown", (e) => {
    const i = VIEWS.indexOf(tab.dataset.view);
    if (e.key === "ArrowRight") show(VIEWS[(i + 1) % VIEWS.length], true);
    else if (e.key === "ArrowLeft") show(VIEWS[(i + VIEWS.length - 1) % VIEWS.length], true);
  });
}
$("fit").addEventListener("click", () => graphView && graphView.fit());
$("drop-filter").addEventListener("input", () => renderList());

// ---------------------------------------------------------------- live updates

function onProgress(event) {
  if (!progress) return;
  Object.assign(progress, { state: event.state, status: event.status, total: event.total, counts: event.counts });
  renderSummary();
  if (event.truncated) refreshStatesSoon();
  else applyChanges(event.changes || []);
}

function onEnd(event) {
  if (stream) stream.close();
  refreshTimeline();
  if (progress) {
    progress.state = event.state;
    progress.error = event.error;
    renderSummary();
  }
  refreshProgress();
  refreshStatesSoon();
}

function followSession() {
  stream = follow(`/api/liuray/sessions/${encodeURIComponent(sessionId)}/events`,
    { progress: onProgress, end: onEnd },
    {
      onOpen: () => {
        refreshProgress();
        refreshStatesSoon();
      },
      poll: async () => {
        refreshProgress();
        refreshStatesSoon();
      },
    });
}

setupPage();
$("session-id").textContent = sessionId;
if (!sessionId) {
  notFound(new Error("give one as /session?sessionId=<id>"));
} else {
  show(params.get("view") || "progress-bar");
  refreshProgress();
  followSession();
  connection.onBack(() => {
    refreshProgress();
    refreshStatesSoon();
  });
  setInterval(() => {
    if (!progress || !isLive(progress.state)) return;
    renderSummary();
    refreshTimeline(); // only while its view is shown, every 3 s at most
  }, 1000);
}

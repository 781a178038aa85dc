// SPDX-License-Identifier: LGPL-2.1-or-later
// The sessions page: every session (live and from the records), newest first, kept up
// to date by the island's event stream (GET /api/liuray/events); the full list is
// re-read at most once a second (a new session, an end), never per event.
import {
  api, cancelButton, connection, countsText, drawBar, duration, el, follow, formatDuration,
  formatTime, isLive, sessionUrl, setupPage, throttled,
} from "./common.js";

const sessions = new Map(); // sessionId -> entry of GET /api/liuray/sessions
const rows = new Map(); // sessionId -> {row, cells...}
const body = document.querySelector("#sessions tbody");
const summary = document.getElementById("sessions-summary");
let loaded = false;

const reload = throttled(async () => {
  const listed = await api("/api/liuray/sessions");
  sessions.clear();
  for (const entry of listed) sessions.set(entry.sessionId, entry);
  loaded = true;
  render();
}, 1000);

function rowFor(entry) {
  let row = rows.get(entry.sessionId);
  if (row) return row;
  const link = el("a", { href: sessionUrl(entry.sessionId), class: "session-link" }, entry.sessionId);
  row = {
    tr: el("tr", { "data-session": entry.sessionId }),
    state: el("span", { class: "state" }),
    bar: el("div", { class: "bar" }),
    pct: el("span", { class: "pct" }),
    counts: el("td", { class: "hide-narrow counts" }),
    started: el("td", { class: "started" }),
    duration: el("td", { class: "num duration" }),
    actions: el("td", { class: "actions" }),
    cancel: null,
  };
  const open = el("a", { href: sessionUrl(entry.sessionId), class: "open", "aria-hidden": "true", tabindex: "-1" }, "Open");
  row.actions.append(open);
  row.tr.append(
    el("td", {}, link),
    el("td", {}, row.state),
    el("td", {}, el("div", { class: "progress-line" }, row.bar, row.pct)),
    row.counts, row.started, row.duration, row.actions,
  );
  rows.set(entry.sessionId, row);
  return row;
}

function update(entry) {
  const row = rowFor(entry);
  row.state.textContent = entry.state;
  row.state.className = `state ${entry.state}`;
  const percent = drawBar(row.bar, entry.counts, entry.total);
  row.bar.setAttribute("aria-label", `${entry.sessionId}: ${percent}% done`);
  const known = entry.counts && Object.keys(entry.counts).length > 0;
  row.pct.textContent = known || entry.state === "finished" ? `${entry.state === "finished" ? 100 : percent}%` : "";
  row.counts.textContent = known ? countsText(entry.counts) : `${entry.total} drops`;
  if (entry.error) row.counts.append(el("div", { class: "muted" }, entry.error));
  row.started.textContent = formatTime(entry.created);
  row.duration.textContent = formatDuration(duration(entry.created, entry.ended));
  if (isLive(entry.state) && !row.cancel) {
    row.cancel = cancelButton(entry.sessionId, reload);
    row.actions.append(row.cancel);
  } else if (!isLive(entry.state) && row.cancel) {
    row.cancel.remove();
    row.cancel = null;
  }
}

function render() {
  const ordered = [...sessions.values()].sort((a, b) => (b.created || 0) - (a.created || 0));
  for (const entry of ordered) update(entry);
  const wanted = ordered.map((entry) => rows.get(entry.sessionId).tr);
  for (const [id, row] of rows) {
    if (!sessions.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  // Re-append only when the order changed, so keyboard focus stays where it is.
  if (wanted.some((tr, i) => body.children[i] !== tr)) body.replaceChildren(...wanted);
  if (!ordered.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" },
      "No session yet. Submit a graph: liuray submit graph.json")));
  }
  const running = ordered.filter((entry) => isLive(entry.state)).length;
  summary.textContent = `${ordered.length} session${ordered.length === 1 ? "" : "s"}, ${running} running`;
}

function onProgress(event) {
  const entry = sessions.get(event.sessionId);
  if (!entry) {
    reload();
    return;
  }
  Object.assign(entry, {
    state: event.state, status: event.status, total: event.total, counts: event.counts,
  });
  scheduleRender();
}

function onEnd(event) {
  const entry = sessions.get(event.sessionId);
  if (entry) {
    entry.state = event.state;
    entry.ended = entry.ended || Date.now() / 1000;
    scheduleRender();
  }
  reload(); // final counts and the recorded end time
}

let renderPending = false;
function scheduleRender() {
  if (renderPending || !loaded) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    render();
  });
}

setupPage();
follow("/api/liuray/events", { progress: onProgress, end: onEnd }, {
  onOpen: reload,
  poll: async () => reload(),
});
connection.onBack(reload);
reload();
// Durations of running sessions tick.
setInterval(() => {
  for (const entry of sessions.values()) {
    if (isLive(entry.state)) rows.get(entry.sessionId)?.duration && update(entry);
  }
}, 1000);

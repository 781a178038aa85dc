// SPDX-License-Identifier: LGPL-2.1-or-later
// What every page of liuray's monitoring page shares: the REST API with its access
// token, the event streams (polling only when they fail), the "server unreachable"
// banner, drop states grouped into the six categories the progress bars show, and the
// formatting of times.

// ---------------------------------------------------------------- states and colours

// The six categories of the progress bars, in bar order; colours from the Okabe-Ito
// palette (distinguishable with every common colour-vision deficiency) and named in
// text next to every bar, so colour is never the only cue.
export const CATEGORIES = ["finished", "running", "error", "skipped", "cancelled", "waiting"];

// The names in progress "counts" (drop states for data, app states for apps) per category.
const CATEGORY_OF_NAME = {
  finished: "finished", completed: "finished", expired: "finished", deleted: "finished",
  running: "running", writing: "running",
  error: "error",
  skipped: "skipped",
  cancelled: "cancelled",
  not_run: "waiting", initialized: "waiting",
};

// DALiuGE's integer codes: drop status (data) and execStatus (apps).
const DROP_CODES = ["waiting", "running", "finished", "error", "finished", "finished",
  "cancelled", "skipped"];
const APP_CODES = ["waiting", "running", "finished", "error", "cancelled", "skipped"];

export const SESSION_STATES = ["pristine", "building", "deploying", "running", "finished",
  "cancelled", "failed"];

/** The category of a drop from its codes (execStatus -1 or undefined: a data drop). */
export function categoryOf(status, execStatus) {
  if (execStatus !== undefined && execStatus !== null && execStatus >= 0) {
    return APP_CODES[execStatus] || "waiting";
  }
  return DROP_CODES[status] || "waiting";
}

/** Progress "counts" (by state name) summed per category. */
export function categoryCounts(counts) {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  for (const [name, n] of Object.entries(counts || {})) {
    out[CATEGORY_OF_NAME[name] || "waiting"] += n;
  }
  return out;
}

/** Fraction of drops settled (anything but waiting and running), 0..1. */
export function doneFraction(byCategory, total) {
  if (!total) return 0;
  const settled = total - byCategory.waiting - byCategory.running;
  return Math.max(0, Math.min(1, settled / total));
}

/** Fill a `.bar` element with one segment per category; returns the percentage done. */
export function drawBar(bar, counts, total) {
  const byCategory = categoryCounts(counts);
  const sum = CATEGORIES.reduce((s, c) => s + byCategory[c], 0) || 1;
  const denominator = Math.max(total || 0, sum);
  bar.replaceChildren(
    ...CATEGORIES.filter((c) => byCategory[c] > 0).map((c) => {
      const segment = el("span", { class: `segment ${c}`, title: `${c}: ${byCategory[c]}` });
      segment.style.width = `${(100 * byCategory[c]) / denominator}%`;
      return segment;
    }),
  );
  const percent = Math.floor(100 * doneFraction(byCategory, denominator));
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-valuenow", String(percent));
  bar.dataset.percent = String(percent);
  return percent;
}

/** "finished 3 · running 1" for the categories present. */
export function countsText(counts) {
  const byCategory = categoryCounts(counts);
  return CATEGORIES.filter((c) => byCategory[c] > 0)
    .map((c) => `${c} ${byCategory[c]}`)
    .join(" · ");
}

// ---------------------------------------------------------------- DOM and formatting

/** A new element: el("a", {href: "/"}, "text", child, ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

export function formatTime(epochSeconds) {
  if (!epochSeconds) return "";
  const date = new Date(epochSeconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.max(0, seconds).toFixed(1)} s`;
  seconds = Math.round(seconds);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

/** Seconds from `created` to `ended` (or now, while it runs). */
export function duration(created, ended) {
  if (!created) return null;
  return (ended || Date.now() / 1000) - created;
}

export function sessionUrl(sessionId) {
  return `/session?sessionId=${encodeURIComponent(sessionId)}`;
}

// ---------------------------------------------------------------- the REST API

const TOKEN_KEY = "liuray-token";

export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * A token handed over in the address's fragment (`/#token=...`, as `liuray ray
 * dashboard` prints it) is kept for the tab like a typed one, and the fragment is taken
 * out of the address at once: fragments never reach the server (nor its logs), and the
 * address bar and history keep no copy.
 */
function takeTokenFromAddress() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (!given) return;
  sessionStorage.setItem(TOKEN_KEY, given);
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}
takeTokenFromAddress();

/** The access token the user gave in this tab, if any. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/**
 * Call the REST API; resolves to the parsed JSON. A 401 asks for the token (once, in a
 * dialog) and retries; a network failure shows the "unreachable" banner and rejects.
 */
export async function api(path, options = {}) {
  for (;;) {
    const headers = { ...(options.headers || {}) };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: "no-store" });
    } catch (err) {
      connection.lost();
      throw err;
    }
    connection.back();
    if (response.status === 401) {
      await askForToken(token() !== null);
      continue;
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { message: text };
    }
    if (!response.ok) throw new HttpError(response.status, body);
    return body;
  }
}

let tokenPrompt = null;

/** Show the token dialog (one at a time); resolves once a token is stored. */
export function askForToken(wasWrong) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    const input = el("input", {
      type: "password", id: "token-input", autocomplete: "off", required: true,
      "aria-describedby": "token-help",
    });
    const dialog = el(
      "dialog", { id: "token-dialog", "aria-labelledby": "token-title" },
      el("form", { method: "dialog" },
        el("h2", { id: "token-title" }, "Access token"),
        el("p", { id: "token-help" },
          wasWrong
            ? "The token was not accepted. Type the server's access token."
            : "This server needs an access token (liuray serve --token, or $LIURAY_TOKEN).",
          " It is kept in this tab only."),
        el("label", { for: "token-input" }, "Token "), input, " ",
        el("button", { type: "submit", id: "token-submit" }, "Use token")),
    );
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    dialog.addEventListener("close", () => {
      if (!input.value) {
        dialog.showModal();
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, input.value);
      dialog.remove();
      tokenPrompt = null;
      resolve();
      document.dispatchEvent(new Event("liuray-token"));
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

// ---------------------------------------------------------------- connection banner

/** The "server unreachable" banner; pages register what to do when it is back. */
export const connection = {
  down: false,
  listeners: [],
  lost() {
    if (this.down) return;
    this.down = true;
    const banner = document.getElementById("offline");
    if (banner) banner.hidden = false;
    document.body.classList.add("is-offline");
  },
  back() {
    if (!this.down) return;
    this.down = false;
    const banner = document.getElementById("offline");
    if (banner) banner.hidden = true;
    document.body.classList.remove("is-offline");
    for (const listener of this.listeners) listener();
  },
  onBack(listener) {
    this.listeners.push(listener);
  },
};

/** Ping the API until it answers again (called while the banner shows). */
async function watchConnection() {
  for (;;) {
    await sleep(connection.down ? 2000 : 5000);
    if (!connection.down) continue;
    try {
      await api("/api/submission_method");
    } catch {
      // still down: the banner stays
    }
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- live updates

/**
 * Follow a server-sent event stream: `handlers` maps event names to callbacks, and
 * `onOpen` runs on every (re)connection (re-read the full state then). When the stream
 * cannot be used at all, `poll` runs every `pollMs` instead. Returns {close()}.
 */
export function follow(path, handlers, { onOpen, poll, pollMs = 2000 } = {}) {
  let source = null;
  let timer = null;
  let closed = false;
  let failures = 0;

  const startPolling = () => {
    if (timer || closed || !poll) return;
    timer = setInterval(() => poll().catch(() => {}), pollMs);
  };

  const open = () => {
    if (closed) return;
    if (typeof EventSource === "undefined") {
      startPolling();
      return;
    }
    if (source) source.close();
    const sep = path.includes("?") ? "&" : "?";
    const url = token() ? `${path}${sep}access_token=${encodeURIComponent(token())}` : path;
    source = new EventSource(url);
    source.onopen = () => {
      failures = 0;
      connection.back();
      if (timer) {
        clearInterval(timer);
        timer = null;
      }
      if (onOpen) onOpen();
    };
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
    source.onerror = () => {
      if (closed) return;
      failures += 1;
      // Find out why: a 401 asks for the token, an unreachable server shows the banner.
      api("/api/submission_method").then(
        () => {
          // The API answers but the stream failed: poll until it can be reopened.
          startPolling();
          if (source.readyState === EventSource.CLOSED) retry();
        },
        () => retry(),
      );
    };
  };

  const retry = () => {
    if (source) source.close();
    startPolling();
    setTimeout(open, Math.min(30000, 1000 * 2 ** Math.min(failures, 5)));
  };

  document.addEventListener("liuray-token", open);
  open();
  return {
    close() {
      closed = true;
      if (source) source.close();
      if (timer) clearInterval(timer);
    },
  };
}

/**
 * Run `task` at most once per `ms` however often `request()` is called (the last
 * request is always honoured): keeps a 50,000-drop session from flooding the server.
 */
export function throttled(task, ms = 1000) {
  let last = 0;
  let pending = null;
  let running = false;
  const run = async () => {
    pending = null;
    running = true;
    last = Date.now();
    try {
      await task();
    } catch (err) {
      console.warn(err);
    } finally {
      running = false;
    }
  };
  return function request() {
    if (pending) return;
    const wait = Math.max(0, last + ms - Date.now(), running ? ms : 0);
    pending = setTimeout(run, wait);
  };
}

/** Shared page setup: the nav's current link and the connection watcher. */
export function setupPage() {
  const here = location.pathname === "/" ? "/" : location.pathname;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === here) link.setAttribute("aria-current", "page");
  }
  watchConnection();
}

/**
 * A "Cancel" button for a session: the first press asks "Confirm cancel?" (for 5 s),
 * the second cancels. `onDone` runs after the server accepted it.
 */
export function cancelButton(sessionId, onDone) {
  const button = el("button", { class: "danger cancel", type: "button" }, "Cancel");
  button.setAttribute("aria-label", `Cancel session ${sessionId}`);
  let timer = null;
  button.addEventListener("click", async () => {
    if (!button.classList.contains("confirming")) {
      button.classList.add("confirming");
      button.textContent = "Confirm cancel?";
      timer = setTimeout(() => {
        button.classList.remove("confirming");
        button.textContent = "Cancel";
      }, 5000);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    button.textContent = "Cancelling…";
    try {
      await api(`/api/sessions/${encodeURIComponent(sessionId)}/cancel`, { method: "POST" });
      if (onDone) onDone();
    } catch (err) {
      button.disabled = false;
      button.classList.remove("confirming");
      button.textContent = "Cancel";
      alert(`Could not cancel ${sessionId}: ${err.message}`);
    }
  });
  return button;
}

/** Session states in which cancelling makes sense. */
export function isLive(state) {
  return ["pristine", "building", "deploying", "running"].includes(state);
}

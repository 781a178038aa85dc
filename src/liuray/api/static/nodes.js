// SPDX-License-Identifier: LGPL-2.1-or-later
// The nodes page: the island's node managers (on Ray: node id, IP, resources, the
// membership state), the sessions using each, re-read every 2 s (nodes come and go
// with the autoscaler; there is no node event stream, and one small read is cheap).
import { api, connection, el, formatTime, sessionUrl, setupPage } from "./common.js";

const body = document.querySelector("#nodes tbody");
const summary = document.getElementById("nodes-summary");
const ALIVE = new Set(["alive", "ready"]);

function resources(node) {
  if (node.resources && Object.keys(node.resources).length) {
    return Object.entries(node.resources)
      .filter(([name]) => !name.startsWith("node:"))
      .map(([name, value]) => `${name} ${name.includes("memory") ? `${(value / 2 ** 30).toFixed(1)} GiB` : value}`)
      .join(", ");
  }
  return node.workers ? `${node.workers} worker threads` : "";
}

let dashboardBase = null; // Ray's dashboard on the head node, when on Ray

/** The node's id, linked to its page on Ray's dashboard when there is one. */
function dashboardLink(nodeId) {
  const code = el("code", {}, nodeId);
  return dashboardBase ? el("a", { href: `${dashboardBase}/#/cluster/nodes/${nodeId}` }, code) : code;
}

function nodeName(node) {
  return node.node_id === node.name ? dashboardLink(node.name) : el("code", {}, node.name);
}

function row(node) {
  const alive = ALIVE.has(node.state);
  const state = el("span", { class: `state ${alive ? "finished" : node.state === "failed" ? "failed" : ""}` },
    node.state === "alive" || !alive ? node.state : `alive (${node.state})`);
  const sessions = (node.session_ids || []).map((id) => el("a", { href: sessionUrl(id) }, id));
  const joined = sessions.flatMap((link, i) => (i ? [", ", link] : [link]));
  return el("tr", { "data-node": node.name },
    el("td", {}, nodeName(node), node.node_id && node.node_id !== node.name
      ? el("div", { class: "muted" }, "Ray node ", dashboardLink(node.node_id)) : null,
    node.head ? el("div", { class: "muted" }, "head node") : null),
    el("td", {}, state, node.reason ? el("div", { class: "muted" }, node.reason) : null),
    el("td", {}, [node.host, node.ip].filter(Boolean).join(" / ")),
    el("td", {}, resources(node)),
    el("td", { class: "num" }, node.running ?? ""),
    el("td", {}, ...(joined.length ? joined : [el("span", { class: "muted" }, "none")])),
    el("td", {}, formatTime(node.alive_since || node.started_at)));
}

async function refresh() {
  let nodes;
  try {
    nodes = await api("/api/liuray/nodes");
  } catch {
    return; // the banner says the server is unreachable
  }
  const head = nodes.find((node) => node.head && node.ip);
  dashboardBase = head ? `http://${head.ip}:8265` : null;
  body.replaceChildren(...nodes.map(row));
  if (!nodes.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No node registered.")));
  }
  const alive = nodes.filter((node) => ALIVE.has(node.state)).length;
  summary.textContent = `${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${alive} alive`
    + (nodes[0] ? ` (${nodes[0].transport})` : "");
  const dashboard = document.getElementById("dashboard");
  dashboard.replaceChildren(...(head
    ? [el("a", { href: `${dashboardBase}/#/cluster` }, "Ray dashboard"),
      " (on the head node, port 8265)"]
    : []));
}

setupPage();
connection.onBack(refresh);
refresh();
setInterval(refresh, 2000);

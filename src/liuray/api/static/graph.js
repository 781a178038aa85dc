// SPDX-License-Identifier: LGPL-2.1-or-later
// The graph view: a session's physical graph as a layered DAG on a <canvas>, drops
// coloured by state.
//
// Layout (no library): longest-path layering (a vertex sits one layer right of its
// furthest predecessor, found in Kahn's topological order; edges that close a cycle are
// ignored), then two barycentre sweeps order each layer (each vertex moves towards the
// mean row of its predecessors), which untangles the fan-outs and fan-ins of
// scatter/gather graphs; the last sweep also places each vertex at that mean row when
// the vertex above leaves room (a gather sits level with the middle of its inputs).
// O(V + E) plus a sort per layer.
//
// Large graphs: above GROUP_THRESHOLD drops the view starts grouped by logical-graph
// node (`lg_key`, else the drop's name): one vertex per group with a bar of its drops'
// states; a click opens a group into its drops (and closes it again). Only vertices in
// view are drawn, and redraws are coalesced into animation frames.
import { CATEGORIES, categoryOf, el } from "./common.js";

export const GROUP_THRESHOLD = 2000;
const EXPAND_LIMIT = 3000;
const BOX_W = 120;
const BOX_H = 34;
const GAP_X = 70;
const GAP_Y = 14;
const GROUP_H = 46;

const COLOURS = {};
for (const c of CATEGORIES) {
  COLOURS[c] = getComputedStyle(document.documentElement).getPropertyValue(`--${c}`).trim();
}

function targets(value) {
  // A link list: plain oids or {oid: port} objects.
  const out = [];
  for (const item of value || []) {
    if (typeof item === "string") out.push(item);
    else if (item && typeof item === "object") out.push(...Object.keys(item));
  }
  return out;
}

/** Drops and edges (producer -> consumer) from specs keyed by oid. */
export function graphOf(specs) {
  const drops = new Map();
  for (const [oid, spec] of Object.entries(specs)) {
    drops.set(oid, {
      oid,
      name: spec.name || spec.nm || "",
      isApp: spec.categoryType === "Application" || spec.categoryType === "app"
        || spec.type === "app",
      key: String(spec.lg_key ?? spec.name ?? spec.dropclass ?? oid),
      dropclass: spec.dropclass || "",
      node: spec.node || "",
    });
  }
  const seen = new Set();
  const edges = [];
  const add = (from, to) => {
    if (!drops.has(from) || !drops.has(to) || from === to) return;
    const id = `${from}\u0000${to}`;
    if (seen.has(id)) return;
    seen.add(id);
    edges.push([from, to]);
  };
  for (const [oid, spec] of Object.entries(specs)) {
    for (const t of targets(spec.outputs)) add(oid, t);
    for (const t of targets(spec.consumers)) add(oid, t);
    for (const t of targets(spec.streamingConsumers)) add(oid, t);
    for (const t of targets(spec.inputs)) add(t, oid);
    for (const t of targets(spec.producers)) add(t, oid);
    for (const t of targets(spec.streamingInputs)) add(t, oid);
  }
  // Too many distinct keys to group by (a hand-written graph): group by class.
  const keys = new Set([...drops.values()].map((d) => d.key));
  if (keys.size > GROUP_THRESHOLD / 2) {
    for (const drop of drops.values()) drop.key = drop.dropclass.split(".").pop() || "drops";
  }
  return { drops, edges };
}

/** Layer and position (a row, maybe fractional) of every vertex. */
export function layeredLayout(vertexIds, edges) {
  const preds = new Map(vertexIds.map((v) => [v, []]));
  const succs = new Map(vertexIds.map((v) => [v, []]));
  const indegree = new Map(vertexIds.map((v) => [v, 0]));
  for (const [a, b] of edges) {
    succs.get(a).push(b);
    preds.get(b).push(a);
    indegree.set(b, indegree.get(b) + 1);
  }
  const layerOf = new Map();
  const queue = vertexIds.filter((v) => indegree.get(v) === 0);
  for (const v of queue) layerOf.set(v, 0);
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    for (const w of succs.get(v)) {
      layerOf.set(w, Math.max(layerOf.get(w) ?? 0, layerOf.get(v) + 1));
      indegree.set(w, indegree.get(w) - 1);
      if (indegree.get(w) === 0) queue.push(w);
    }
  }
  for (const v of vertexIds) if (!layerOf.has(v)) layerOf.set(v, 0); // on a cycle
  const layers = [];
  for (const v of vertexIds) {
    const l = layerOf.get(v);
    (layers[l] ||= []).push(v);
  }
  const position = new Map();
  for (let l = 0; l < layers.length; l++) {
    layers[l] ||= [];
    layers[l].forEach((v, i) => position.set(v, i));
  }
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let l = 1; l < layers.length; l++) {
      const centre = new Map();
      for (const v of layers[l]) {
        const ps = preds.get(v).filter((p) => layerOf.get(p) < l);
        centre.set(v, ps.length
          ? ps.reduce((s, p) => s + position.get(p), 0) / ps.length
          : position.get(v));
      }
      layers[l].sort((a, b) => centre.get(a) - centre.get(b));
      // Each vertex as near its predecessors' centre as the one above it allows.
      let previous = -1;
      for (const v of layers[l]) {
        previous = Math.max(previous + 1, sweep === 1 ? centre.get(v) : previous + 1);
        position.set(v, previous);
      }
    }
  }
  return { layerOf, layers, position };
}

export class GraphView {
  constructor(canvas, { onSelect, onLayout } = {}) {
    this.canvas = canvas;
    this.onSelect = onSelect;
    this.onLayout = onLayout;
    this.graph = null;
    this.states = new Map(); // oid -> category
    this.expanded = new Set();
    this.grouped = false;
    this.view = { scale: 1, x: 20, y: 20 };
    this.selected = null;
    this.framePending = false;
    this.bindInput();
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  setGraph(specs) {
    this.graph = graphOf(specs);
    this.grouped = this.graph.drops.size > GROUP_THRESHOLD;
    this.groups = new Map();
    for (const drop of this.graph.drops.values()) {
      if (!this.groups.has(drop.key)) this.groups.set(drop.key, []);
      this.groups.get(drop.key).push(drop.oid);
    }
    this.layout();
    this.fit();
  }

  setState(oid, category) {
    this.states.set(oid, category);
    this.redraw();
  }

  setStates(entries) {
    for (const [oid, category] of entries) this.states.set(oid, category);
    this.redraw();
  }

  isOpen(key) {
    return !this.grouped || this.expanded.has(key) || this.groups.get(key).length === 1;
  }

  /** A group's label: its drops' name when they share one, else its key. */
  label(key) {
    const first = this.graph.drops.get(this.groups.get(key)[0]);
    return first.name && first.name !== key ? `${first.name} (${key})` : key;
  }

  toggle(key) {
    if (!this.grouped) return;
    if (this.expanded.has(key)) this.expanded.delete(key);
    else if (this.groups.get(key).length <= EXPAND_LIMIT) this.expanded.add(key);
    this.layout();
    this.redraw();
  }

  /** Vertices: a drop (open group or ungrouped view) or a closed group. */
  layout() {
    const vertexOf = new Map();
    this.vertices = new Map();
    for (const drop of this.graph.drops.values()) {
      if (this.isOpen(drop.key)) {
        vertexOf.set(drop.oid, drop.oid);
        this.vertices.set(drop.oid, { id: drop.oid, drop });
      } else {
        const id = `group:${drop.key}`;
        vertexOf.set(drop.oid, id);
        if (!this.vertices.has(id)) {
          this.vertices.set(id, { id, group: drop.key, members: this.groups.get(drop.key) });
        }
      }
    }
    const seen = new Set();
    this.edges = [];
    for (const [a, b] of this.graph.edges) {
      const va = vertexOf.get(a);
      const vb = vertexOf.get(b);
      if (va === vb) continue;
      const id = `${va}\u0000${vb}`;
      if (seen.has(id)) continue;
      seen.add(id);
      this.edges.push([va, vb]);
    }
    const { layerOf, position } = layeredLayout([...this.vertices.keys()], this.edges);
    for (const vertex of this.vertices.values()) {
      const h = vertex.group ? GROUP_H : BOX_H;
      vertex.x = layerOf.get(vertex.id) * (BOX_W + GAP_X);
      vertex.y = position.get(vertex.id) * (GROUP_H + GAP_Y);
      vertex.w = BOX_W;
      vertex.h = h;
    }
    if (this.onLayout) this.onLayout();
  }

  fit() {
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !this.vertices || !this.vertices.size) return;
    let maxX = 0;
    let maxY = 0;
    for (const v of this.vertices.values()) {
      maxX = Math.max(maxX, v.x + v.w);
      maxY = Math.max(maxY, v.y + v.h);
    }
    const scale = Math.min(1.25, (rect.width - 40) / maxX, (rect.height - 40) / maxY);
    this.view = { scale: Math.max(scale, 0.02), x: 20, y: 20 };
    this.redraw();
  }

  redraw() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.draw();
    });
  }

  draw() {
    const canvas = this.canvas;
    const rect = canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(rect.width * ratio)) canvas.width = Math.round(rect.width * ratio);
    if (canvas.height !== Math.round(rect.height * ratio)) canvas.height = Math.round(rect.height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!this.vertices) return;
    const { scale, x, y } = this.view;
    ctx.setTransform(ratio * scale, 0, 0, ratio * scale, ratio * x, ratio * y);
    const left = -x / scale;
    const top = -y / scale;
    const right = left + rect.width / scale;
    const bottom = top + rect.height / scale;
    const visible = (v) => v.x + v.w >= left && v.x <= right && v.y + v.h >= top && v.y <= bottom;

    ctx.strokeStyle = "#9aa4ae";
    ctx.lineWidth = 1 / Math.max(scale, 0.5);
    ctx.beginPath();
    for (const [a, b] of this.edges) {
      const va = this.vertices.get(a);
      const vb = this.vertices.get(b);
      if (!visible(va) && !visible(vb)) continue;
      ctx.moveTo(va.x + va.w, va.y + va.h / 2);
      ctx.lineTo(vb.x, vb.y + vb.h / 2);
    }
    ctx.stroke();

    const labels = scale > 0.45;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (const v of this.vertices.values()) {
      if (!visible(v)) continue;
      if (v.group) this.drawGroup(ctx, v, labels);
      else this.drawDrop(ctx, v, labels);
    }
  }

  drawDrop(ctx, v, labels) {
    const category = this.states.get(v.id) || "waiting";
    ctx.fillStyle = COLOURS[category];
    ctx.beginPath();
    // Apps are boxes, data are rounded pills: the shape says which is which.
    const r = v.drop.isApp ? 3 : v.h / 2;
    ctx.roundRect(v.x, v.y, v.w, v.h, r);
    ctx.fill();
    ctx.lineWidth = this.selected === v.id ? 3 : 1;
    ctx.strokeStyle = this.selected === v.id ? "#000" : "rgba(0,0,0,0.35)";
    ctx.stroke();
    if (labels) {
      ctx.fillStyle = "#000";
      ctx.fillText(clip(ctx, v.drop.name || v.id, v.w - 10), v.x + 6, v.y + v.h / 2);
    }
  }

  drawGroup(ctx, v, labels) {
    const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
    for (const oid of v.members) counts[this.states.get(oid) || "waiting"] += 1;
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#1b1f24";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.roundRect(v.x, v.y, v.w, v.h, 4);
    ctx.fill();
    ctx.stroke();
    let offset = v.x + 2;
    const width = v.w - 4;
    for (const c of CATEGORIES) {
      if (!counts[c]) continue;
      const w = (width * counts[c]) / v.members.length;
      ctx.fillStyle = COLOURS[c];
      ctx.fillRect(offset, v.y + v.h - 14, w, 12);
      offset += w;
    }
    if (labels) {
      ctx.fillStyle = "#000";
      const text = `${this.label(v.group)} ×${v.members.length}`;
      ctx.fillText(clip(ctx, text, v.w - 10), v.x + 6, v.y + 14);
    }
  }

  vertexAt(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    const gx = (clientX - rect.left - this.view.x) / this.view.scale;
    const gy = (clientY - rect.top - this.view.y) / this.view.scale;
    for (const v of this.vertices.values()) {
      if (gx >= v.x && gx <= v.x + v.w && gy >= v.y && gy <= v.y + v.h) return v;
    }
    return null;
  }

  zoom(factor, cx, cy) {
    const v = this.view;
    const scale = Math.min(4, Math.max(0.01, v.scale * factor));
    v.x = cx - ((cx - v.x) * scale) / v.scale;
    v.y = cy - ((cy - v.y) * scale) / v.scale;
    v.scale = scale;
    this.redraw();
  }

  bindInput() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        this.view.x += dx;
        this.view.y += dy;
        drag.x = e.clientX;
        drag.y = e.clientY;
        this.redraw();
      }
    });
    canvas.addEventListener("pointerup", (e) => {
      const click = drag && !drag.moved;
      drag = null;
      if (!click) return;
      const vertex = this.vertexAt(e.clientX, e.clientY);
      if (!vertex) return;
      if (vertex.group) this.toggle(vertex.group);
      else {
        this.selected = vertex.id;
        this.redraw();
        if (this.onSelect) this.onSelect(vertex.drop);
      }
    });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      this.zoom(Math.exp(-e.deltaY / 500), e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
    canvas.addEventListener("keydown", (e) => {
      const rect = canvas.getBoundingClientRect();
      const step = 60;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) {
        this.view.x += moves[e.key][0];
        this.view.y += moves[e.key][1];
        this.redraw();
      } else if (e.key === "+" || e.key === "=") this.zoom(1.25, rect.width / 2, rect.height / 2);
      else if (e.key === "-") this.zoom(0.8, rect.width / 2, rect.height / 2);
      else if (e.key === "0") this.fit();
      else return;
      e.preventDefault();
    });
  }

  /** Buttons opening and closing each group (the keyboard's way into the groups). */
  groupButtons() {
    if (!this.grouped) return [];
    const keys = [...this.groups.keys()].filter((key) => this.groups.get(key).length > 1)
      .sort((a, b) => this.groups.get(b).length - this.groups.get(a).length);
    return keys.slice(0, 300).map((key) => el("button", {
      type: "button",
      "aria-pressed": String(this.expanded.has(key)),
      onclick: (e) => {
        this.toggle(key);
        e.currentTarget.setAttribute("aria-pressed", String(this.expanded.has(key)));
      },
    }, `${this.label(key)}: ${this.groups.get(key).length} drops`));
  }
}

function clip(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let end = text.length;
  while (end > 1 && ctx.measureText(`${text.slice(0, end)}…`).width > width) end -= 1;
  return `${text.slice(0, end)}…`;
}

export { categoryOf };

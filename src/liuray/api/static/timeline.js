// SPDX-License-Identifier: LGPL-2.1-or-later
// The timeline view: when each application ran, one lane per node (a Gantt chart) on a
// <canvas>. Apps that overlap on a node (its worker threads) are packed into rows by
// the greedy interval-partitioning rule: sorted by start, each app goes to the first
// row whose last app has ended, else to a new row.
import { categoryOf, formatDuration } from "./common.js";

const LABEL_W = 150;
const ROW_H = 14;
const ROW_GAP = 2;
const LANE_GAP = 10;
const AXIS_H = 22;
const APP_STATES = ["not_run", "running", "finished", "error", "cancelled", "skipped"];

function colour(name) {
  const category = categoryOf(0, APP_STATES.indexOf(name));
  return getComputedStyle(document.documentElement).getPropertyValue(`--${category}`).trim();
}

/** Lanes per node: [{node, rows: [[app, ...], ...]}], apps placed in rows. */
export function packLanes(apps, now) {
  const byNode = new Map();
  for (const app of [...apps].sort((a, b) => a.started_at - b.started_at)) {
    const node = app.node || "?";
    if (!byNode.has(node)) byNode.set(node, []);
    const rows = byNode.get(node);
    const end = app.finished_at || now;
    let row = rows.find((r) => r.end <= app.started_at);
    if (!row) {
      row = { end: 0, apps: [] };
      rows.push(row);
    }
    row.apps.push(app);
    row.end = end;
  }
  return [...byNode.entries()].sort().map(([node, rows]) => ({ node, rows: rows.map((r) => r.apps) }));
}

export class Timeline {
  constructor(canvas, { onSelect } = {}) {
    this.canvas = canvas;
    this.onSelect = onSelect;
    this.boxes = [];
    canvas.addEventListener("click", (e) => {
      const rect = canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const hit = this.boxes.find((b) => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h);
      if (hit && this.onSelect) this.onSelect(hit.app);
    });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  set(apps, now) {
    this.apps = apps;
    this.now = now;
    this.draw();
  }

  draw() {
    if (!this.apps) return;
    const now = this.now;
    const lanes = packLanes(this.apps, now);
    const rows = lanes.reduce((n, lane) => n + lane.rows.length, 0);
    const height = AXIS_H + rows * (ROW_H + ROW_GAP) + lanes.length * LANE_GAP + 4;
    const canvas = this.canvas;
    canvas.style.height = `${height}px`;
    const width = canvas.getBoundingClientRect().width;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.boxes = [];
    if (!this.apps.length) return;
    const t0 = Math.min(...this.apps.map((a) => a.started_at));
    const t1 = Math.max(...this.apps.map((a) => a.finished_at || now), t0 + 0.001);
    const scale = (width - LABEL_W - 10) / (t1 - t0);
    const x = (t) => LABEL_W + (t - t0) * scale;

    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#5a6470";
    ctx.strokeStyle = "#d9dee4";
    const ticks = 6;
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + ((t1 - t0) * i) / ticks;
      ctx.beginPath();
      ctx.moveTo(x(t), AXIS_H - 4);
      ctx.lineTo(x(t), height);
      ctx.stroke();
      const span = t1 - t0;
      const label = span < 120 ? `+${(t - t0).toFixed(span < 10 ? 1 : 0)} s` : `+${formatDuration(t - t0)}`;
      ctx.fillText(label, Math.min(x(t) - ctx.measureText(label).width / 2, width - ctx.measureText(label).width), 10);
    }
    let y = AXIS_H;
    for (const lane of lanes) {
      ctx.fillStyle = "#1b1f24";
      ctx.fillText(lane.node, 4, y + ROW_H / 2);
      for (const row of lane.rows) {
        for (const app of row) {
          const bx = x(app.started_at);
          const bw = Math.max(2, (app.finished_at || now) * scale - app.started_at * scale);
          ctx.fillStyle = colour(app.state);
          ctx.fillRect(bx, y, Math.max(1, bw - 1), ROW_H); // 1 px apart: one app from the next
          this.boxes.push({ x: bx, y, w: bw, h: ROW_H, app });
          if (bw > 40) {
            ctx.fillStyle = "#000";
            ctx.fillText((app.name || app.oid).slice(0, Math.floor(bw / 6)), bx + 3, y + ROW_H / 2);
          }
        }
        y += ROW_H + ROW_GAP;
      }
      y += LANE_GAP;
      ctx.strokeStyle = "#d9dee4";
      ctx.beginPath();
      ctx.moveTo(0, y - LANE_GAP / 2);
      ctx.lineTo(width, y - LANE_GAP / 2);
      ctx.stroke();
    }
  }
}

// scope_ext's views (one module for all of them; nothing fetched: its one import, uPlot, is
// vendored beside it and inlined for anywidget by the kernel). Two users:
// - anywidget (the default export): live views. A view's model says which it is (`kind`); every
//   view says hello when it opens or reconnects (the kernel answers with everything), reports
//   whether it is in sight (hidden views get no updates), and then applies the batches the kernel
//   sends. Its element carries `data-scope-kind` and `scopeSnapshot()`, its state now as a snapshot.
// - the JupyterLab extension (`renderSnapshot`): a saved snapshot drawn by the same code, static.
//
// A snapshot (`application/vnd.scope-ext.snapshot+json`) is {v: 1, kind, at, traits, batch}: the
// view's kind, when it was taken (s since the epoch), the model's traits, and the batch that
// would rebuild the view from nothing (`reset: true`). A dashboard is {v: 1, kind: "dashboard",
// at, views: [snapshot, ...]}.

import uPlot from "./vendor/uplot.js";

// What the kernel sent lives with the model, not the view: batches that arrive before a view
// renders (the kernel starts sending when the output is displayed) are kept, and every view of
// the model draws from the same state.
const POINTS = 1000;  // a telemetry chart's points
const SAVED_EVENTS = 500;  // a saved timeline keeps the newest events only: notebooks stay small
export const SNAPSHOT_VERSION = 1;
const STORES = {
  tree: {
    make: () => ({ nodes: new Map() }),
    apply(state, msg) {
      if (msg.t !== "tree") return;
      if (msg.reset) state.nodes.clear();
      for (const [path, node] of Object.entries(msg.set || {})) state.nodes.set(path, { ...node, path });
      for (const path of msg.del || []) state.nodes.delete(path);
    },
    save(state) {
      const set = {};
      for (const [path, { path: _, ...node }] of state.nodes) set[path] = node;
      return { t: "tree", reset: true, set, del: [] };
    },
  },
  timeline: {
    make: () => ({ events: [], namespaces: new Set() }),
    apply(state, msg, model) {
      if (msg.t !== "events") return;
      if (msg.reset) { state.events = []; state.namespaces.clear(); }
      for (const e of msg.items) { state.events.push(e); state.namespaces.add(e[2]); }  // no spread: batches can be huge
      const limit = model.get("ring");
      if (state.events.length > limit) state.events = state.events.slice(state.events.length - limit);
    },
    save: (state) => ({ t: "events", reset: true, items: state.events.slice(-SAVED_EVENTS) }),
  },
  telemetry: {
    make: () => ({ metrics: new Map() }),
    apply(state, msg) {
      if (msg.t !== "metrics") return;
      if (msg.reset) state.metrics.clear();
      for (const [name, m] of Object.entries(msg.metrics)) {
        const known = state.metrics.get(name);
        const points = (known ? known.points.concat(m.points) : m.points).slice(-POINTS);
        state.metrics.set(name, { kind: m.kind, summary: m.summary, points });
      }
    },
    save: (state) => ({ t: "metrics", reset: true, metrics: Object.fromEntries(state.metrics) }),
  },
  progress: {
    make: () => ({ last: null }),
    apply(state, msg) { if (msg.t === "progress") state.last = msg; },
    save: (state) => state.last,
  },
};
const TRAITS = ["namespace", "ring", "interval"];  // what a snapshot keeps of a model

// An entry is one model's state and its views' listeners; `live` is false for a saved snapshot.
function makeEntry(kind, live) {
  return { kind, state: STORES[kind].make(), listeners: new Set(), received: false, live, at: null };
}

function connect(model, el, entry, onMessage) {
  if (!entry.live) return () => {};
  el.dataset.scopeKind = entry.kind;
  // null until the kernel's first batch arrived (a view in a hidden tab gets none): the page then
  // knows less than the snapshot the kernel wrote when the view was displayed, which saving keeps.
  el.scopeSnapshot = () => (entry.received ? {
    v: SNAPSHOT_VERSION, kind: entry.kind, at: Date.now() / 1000,
    traits: Object.fromEntries(TRAITS.map((name) => [name, model.get(name)]).filter(([, v]) => v != null)),
    batch: STORES[entry.kind].save(entry.state),
  } : null);
  entry.listeners.add(onMessage);
  const observer = new IntersectionObserver((entries) => {
    model.send({ t: "visible", value: entries.some((e) => e.isIntersecting) });
  });
  observer.observe(el);
  // A page that has nothing yet (reopened, reloaded, or too early for the first batch) asks for
  // everything, and asks again (after 2, 4, 8... s) until it has it: a busy kernel answers late,
  // and a reloaded page's first messages can be lost between the kernel's shells.
  let retry = null;
  const hello = (wait) => {
    try {
      model.send({ t: "hello", fresh: !entry.received });
    } catch {
      return;  // the kernel is gone: nothing to ask
    }
    if (!entry.received) retry = setTimeout(() => { if (!entry.received) hello(Math.min(wait * 2, 30000)); }, wait);
  };
  hello(2000);
  return () => { clearTimeout(retry); observer.disconnect(); entry.listeners.delete(onMessage); };
}

// Supervision tree.
// The kernel sends {t: "tree", set: {path: node}, del: [path]} batches at most ~10 per second;
// the view keeps the nodes, redraws, and remembers what is collapsed per model across redraws.
export const STATUS_COLOR = {  // also the Scope sidebar's (labextension/)
  running: "#2e7d32", starting: "#00838f", restarting: "#f9a825", stopping: "#8e24aa",
  stopped: "#9e9e9e", down: "#c62828", dropped: "#9e9e9e",
};
// A node's health from its recent restarts (the kernel's `health`): a crash loop is "running"
// most of the time, so its dot takes this colour instead of its status's.
export const HEALTH_COLOR = { restarting: "#f9a825", crashing: "#c62828" };

export function dotColor(node) {
  return HEALTH_COLOR[node.health] || STATUS_COLOR[node.status] || "#000";
}

// A marker on a node with something unhealthy below it (null when all is well there).
export function belowMark(node) {
  if (!HEALTH_COLOR[node.below]) return null;
  const mark = document.createElement("span");
  mark.className = "scope-ext-below";
  mark.dataset.below = node.below;
  mark.style.color = HEALTH_COLOR[node.below];
  mark.style.marginLeft = "6px";
  mark.textContent = "●";
  mark.title = `a service below is ${node.below === "crashing" ? "crash-looping" : "restarting"}`;
  return mark;
}

function uptime(started, now) {
  if (started == null) return "";
  const s = Math.max(0, now - started);
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function nodeText(node, now) {
  let text = `${node.id} ${node.status}`;
  if (node.strategy) text += `  ${node.strategy}  budget ${node.used}/${node.max} (${node.left} left)`;
  else if (node.capacity) text += `  mailbox ${node.mailbox}/${node.capacity}`;
  if (node.restarts) text += `  restarts ${node.restarts}`;
  if (node.recent) text += ` (${node.recent} in the last minute)`;
  if (node.started != null) text += `  up ${uptime(node.started, now)}`;
  return text;
}

// Each parent's children (null: the namespaces), in order.
function childrenIndex(nodes) {
  const byParent = new Map();
  for (const node of nodes.values()) {
    if (!byParent.has(node.p)) byParent.set(node.p, []);
    byParent.get(node.p).push(node);
  }
  for (const kids of byParent.values()) kids.sort((a, b) => a.i - b.i);
  return byParent;
}

// How bad a node looks, worst first: what sorting by status orders by.
const STATUS_RANK = ["down", "restarting", "starting", "stopping", "running", "stopped", "dropped"];
export function badness(node) {
  if (node.health === "crashing") return 0;
  if (node.health === "restarting") return 1;
  const rank = STATUS_RANK.indexOf(node.status);
  return 2 + (rank < 0 ? STATUS_RANK.length : rank);
}

// A node's status in words: a crash loop is "running" most of the time, so it says what it is;
// a service that restarted lately and runs says "running" (coloured by its health).
export function statusText(node) {
  return node.health === "crashing" ? "crash loop" : node.status;
}

function kindText(node) {
  if (!node.strategy) return node.kind;
  return node.dynamic ? "dynamic" : node.strategy;
}

// The tree's columns: what each shows and what sorting by it orders by.
export const TREE_COLUMNS = [
  { key: "name", title: "name", order: (n) => String(n.id).toLowerCase() },
  { key: "kind", title: "kind", order: kindText },
  { key: "status", title: "status", order: badness },
  { key: "restarts", title: "restarts", order: (n) => -(n.restarts || 0), num: true },
  { key: "rate", title: "per min", order: (n) => -(n.recent || 0), num: true },
  { key: "mailbox", title: "mailbox", order: (n) => -(n.capacity ? n.mailbox / n.capacity : -1) },
  { key: "uptime", title: "uptime", order: (n) => (n.started == null ? Infinity : -n.started), num: true },
  { key: "error", title: "last error", order: (n) => (n.error ? 0 : 1) },
];
const TREE_ROW = 22;
const TREE_HEIGHT = 480;  // px: the list's height when it holds more rows than fit  // px: every row has the same height, so only the rows in sight are drawn
const LARGE_GROUP = 100;  // a supervisor with more children starts collapsed (its count shows)
const viewMemory = new Map();  // per model: collapsed/expanded groups, sort: kept across re-renders

// A frame of a Python traceback is scope_ext's or trio's own (drawn dim) or the user's.
function internalFrame(line) {
  return /[\\/](scope_ext|trio|outcome|asyncio)[\\/]/.test(line);
}

// The exception line of a traceback (its last line that is not blank), or the error text.
export function exceptionLine(traceback, error) {
  const lines = (traceback || "").trimEnd().split("\n");
  return (traceback && lines[lines.length - 1]) || error || null;
}

// The services an action on `path` stops: the node and everything below it, in tree order.
function subtree(byParent, path) {
  const out = [];
  const walk = (p) => { for (const kid of byParent.get(p) || []) { out.push(kid); walk(kid.path); } };
  walk(path);
  return out;
}

// What the details panel offers for a node, with what each does, in words the confirmation shows.
export function actionsFor(node, parent, below) {
  if (!node || !parent) return [];  // a namespace's root: nothing supervises it here
  const names = below.slice(0, 5).map((n) => n.id).join(", ") + (below.length > 5 ? ", …" : "");
  const stops = below.length ? `${node.id} and the ${below.length} ${below.length === 1 ? "service" : "services"} below it (${names})` : node.id;
  const others = `${parent.id}'s other children keep running`;
  if (parent.dynamic) {
    return [{ action: "terminate", label: "terminate", says:
      `Stops ${stops} within its shutdown time. ${parent.id} is a dynamic supervisor: it forgets ${node.id}, which is not started again. ${others}.` }];
  }
  const stopped = node.status === "stopped" || node.status === "down";
  const out = [{ action: "restart", label: stopped ? "start" : "restart", says: stopped
    ? `Starts ${node.id} again from its spec${below.length ? `, with the services below it` : ""}. ${others}.`
    : `Stops ${stops} within its shutdown time, then starts ${node.id} again from its spec. ${others}.` }];
  if (!stopped) {
    out.push({ action: "terminate", label: "terminate", says:
      `Stops ${stops} within its shutdown time. ${parent.id} keeps its spec, so it can be started again from here. ${others}.` });
  }
  return out;
}

function el_(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

function renderTree({ model, el }, entry) {
  const { nodes } = entry.state;
  let byParent = new Map();
  const key = model.model_id || model.cid || "view";
  if (!viewMemory.has(key)) viewMemory.set(key, { collapsed: new Set(), expanded: new Set(), sort: null });
  const memory = viewMemory.get(key);
  let selected = null;
  let details = null;
  let pending = null;  // the action waiting for confirmation: {action, label, says, path}
  const notes = [];  // results of actions and refusals: they stay until dismissed

  el.classList.add("scope-ext-tree");
  const main = el_("div", "scope-ext-tree-main");
  // Search and "only unhealthy": matching nodes show with their ancestors, collapsed or not.
  const bar = el_("div", "scope-ext-filters");
  const search = el_("input", "scope-ext-search");
  search.type = "search";
  search.placeholder = "search services";
  const unhealthyBox = el_("input", "scope-ext-only-unhealthy");
  unhealthyBox.type = "checkbox";
  const unhealthyLabel = el_("label");
  unhealthyLabel.append(unhealthyBox, " only unhealthy");
  const count = el_("span", "scope-ext-count");
  bar.append(search, unhealthyLabel, count);
  search.oninput = () => draw();
  unhealthyBox.onchange = () => draw();

  // The list scrolls under a sticky header; its body is as tall as all rows, and only the rows
  // in sight (and a few around them) exist in the DOM, so 10,000 services cost what 40 do.
  const list = el_("div", "scope-ext-tree-list");
  list.tabIndex = 0;
  const header = el_("div", "scope-ext-tree-row scope-ext-tree-header");
  const headCells = new Map();
  for (const column of TREE_COLUMNS) {
    const cell = el_("span", `scope-ext-col-${column.key}`, column.title);
    cell.dataset.sort = column.key;
    cell.title = `sort by ${column.title}`;
    cell.onclick = () => sortBy(column.key);
    headCells.set(column.key, cell);
    header.append(cell);
  }
  const body = el_("div", "scope-ext-tree-body");
  const empty = el_("div", "scope-ext-empty");
  list.append(header, body);
  main.append(bar, list);
  const panel = el_("div", "scope-ext-tree-details");
  el.append(main, panel);

  function sortBy(column) {
    const now = memory.sort;
    memory.sort = !now || now.key !== column ? { key: column, dir: 1 } : now.dir === 1 ? { key: column, dir: -1 } : null;
    draw();
  }

  function isCollapsed(path) {
    return memory.collapsed.has(path) || ((byParent.get(path) || []).length > LARGE_GROUP && !memory.expanded.has(path));
  }

  function toggle(path) {
    if (isCollapsed(path)) { memory.collapsed.delete(path); memory.expanded.add(path); }
    else { memory.collapsed.add(path); memory.expanded.delete(path); }
    draw();
  }

  // The paths to show while a filter is on (matches and their ancestors), or null for all.
  function shown() {
    const text = search.value.trim().toLowerCase();
    if (!text && !unhealthyBox.checked) return null;
    const keep = new Set();
    for (const node of nodes.values()) {
      const matches = (!text || node.path.toLowerCase().includes(text)) &&
        (!unhealthyBox.checked || (node.health && node.health !== "ok"));
      for (let at = matches ? node : null; at && !keep.has(at.path); at = at.p == null ? null : nodes.get(at.p)) {
        keep.add(at.path);
      }
    }
    return keep;
  }

  function ordered(kids) {
    const sort = memory.sort;
    if (!sort) return kids;
    const order = TREE_COLUMNS.find((c) => c.key === sort.key).order;
    const keyed = kids.map((n) => [order(n), n]);
    keyed.sort((a, b) => (a[0] < b[0] ? -sort.dir : a[0] > b[0] ? sort.dir : a[1].i - b[1].i));
    return keyed.map((k) => k[1]);
  }

  // The rows in order, as [node, depth]: the tree walked through what is expanded and shown.
  let flat = [];
  function layout() {
    byParent = childrenIndex(nodes);
    const keep = shown();
    flat = [];
    const visit = (node, depth) => {
      if (keep && !keep.has(node.path)) return;
      flat.push([node, depth]);
      if (keep || !isCollapsed(node.path)) for (const kid of ordered(byParent.get(node.path) || [])) visit(kid, depth + 1);
    };
    for (const root of ordered(byParent.get(null) || [])) visit(root, 0);
    const total = nodes.size;
    set(count, "textContent", keep ? `${flat.length} of ${total} shown` : `${total} ${total === 1 ? "node" : "nodes"}`);
    if (!flat.length) {  // an empty state that says why
      empty.textContent = keep ? "Nothing matches the search." : "No supervision tree yet: start a service in a namespace.";
      if (!empty.isConnected) list.append(empty);
    } else if (empty.isConnected) {
      empty.remove();
    }
    body.style.height = `${flat.length * TREE_ROW}px`;
    set(list.style, "height", `${Math.min(TREE_HEIGHT, (Math.max(flat.length, 2) + 1) * TREE_ROW + 2)}px`);  // no empty acre under a small tree
    for (const [column, cell] of headCells) {
      const sort = memory.sort && memory.sort.key === column ? memory.sort.dir : 0;
      set(cell.dataset, "dir", sort ? (sort > 0 ? "asc" : "desc") : "");
    }
  }

  // Keyed rows: one element per path in sight, kept across batches and clock ticks and changed in
  // place, so selections, scroll and focus stay; a press selects (on pointerdown), so a row that
  // moves under a held button still takes the click.
  const rows = new Map();  // path -> {line, cells, color, below}

  function rowOf(path) {
    let r = rows.get(path);
    if (r) return r;
    const line = el_("div", "scope-ext-tree-row scope-ext-node");
    line.dataset.path = path;
    const name = el_("span", "scope-ext-col-name");
    const toggleMark = el_("span", "scope-ext-toggle");
    toggleMark.addEventListener("pointerdown", (e) => { e.stopPropagation(); toggle(path); });
    const dot = el_("span", "scope-ext-dot");
    const label = el_("span", "scope-ext-label");
    const size = el_("span", "scope-ext-group-size");
    name.append(toggleMark, dot, label, size);
    const cells = { name, toggle: toggleMark, dot, label, size };
    line.append(name);
    for (const column of TREE_COLUMNS.slice(1)) {
      const cell = el_("span", `scope-ext-col-${column.key}`);
      cells[column.key] = cell;
      line.append(cell);
    }
    const fill = el_("span", "scope-ext-fill");
    cells.fill = fill;
    line.addEventListener("pointerdown", (e) => { if (e.button === 0) select(path); });
    line.ondblclick = () => toggle(path);
    r = { line, cells, color: null, below: null };
    rows.set(path, r);
    return r;
  }

  function set(target, key, value) {  // touch the DOM only where something changed
    if (target[key] !== value) target[key] = value;
  }

  function update(r, node, depth, index, now) {
    const c = r.cells;
    set(r.line, "className", "scope-ext-tree-row scope-ext-node" + (node.path === selected ? " selected" : ""));
    set(r.line.style, "top", `${index * TREE_ROW}px`);
    set(r.line.dataset, "status", node.status);
    set(r.line.dataset, "health", node.health || "ok");
    set(c.name.style, "paddingLeft", `${depth * 14}px`);
    const kids = (byParent.get(node.path) || []).length;
    set(c.toggle, "textContent", kids ? (isCollapsed(node.path) ? "▸" : "▾") : "");
    set(c.size, "textContent", kids ? ` ${kids}` : "");
    const color = dotColor(node);  // kept as given: the browser reports colours back as rgb()
    if (r.color !== color) {
      r.color = color;
      c.dot.style.background = color;
    }
    set(c.label, "textContent", String(node.id));
    set(c.label, "title", node.path);
    set(c.kind, "textContent", kindText(node));
    set(c.status, "textContent", statusText(node));
    set(c.status.dataset, "health", node.health || "ok");
    set(c.restarts, "textContent", node.restarts ? String(node.restarts) : "");
    set(c.rate, "textContent", node.recent ? String(node.recent) : "");
    if (node.strategy) {
      set(c.mailbox, "textContent", `${node.left}/${node.max} left`);
      set(c.mailbox, "title", `restart budget: ${node.used} used, ${node.left} left of ${node.max}`);
    } else if (node.capacity) {
      if (!c.fill.isConnected) c.mailbox.replaceChildren(c.fill);
      set(c.fill.style, "width", `${Math.min(100, (100 * node.mailbox) / node.capacity).toFixed(0)}%`);
      set(c.fill.dataset, "full", String(node.mailbox / node.capacity >= 0.8));
      set(c.mailbox, "title", `mailbox ${node.mailbox} of ${node.capacity}`);
    } else {
      set(c.mailbox, "textContent", "");
    }
    set(c.uptime, "textContent", uptime(node.started, now));
    set(c.error, "textContent", node.error || "");
    set(c.error, "title", node.error || "");
    const mark = r.below ? r.below.dataset.below : undefined;
    if (mark !== (HEALTH_COLOR[node.below] ? node.below : undefined)) {
      r.below?.remove();
      r.below = belowMark(node);
      if (r.below) c.name.append(r.below);
    }
  }

  // Draw the rows in sight; the others leave the DOM.
  function paint() {
    const now = entry.at ?? Date.now() / 1000;
    const top = Math.max(0, list.scrollTop - TREE_ROW);
    const first = Math.max(0, Math.floor(top / TREE_ROW) - 5);
    const last = Math.min(flat.length, first + Math.ceil((list.clientHeight || 480) / TREE_ROW) + 10);
    const seen = new Set();
    for (let index = first; index < last; index++) {
      const [node, depth] = flat[index];
      const r = rowOf(node.path);
      update(r, node, depth, index, now);
      seen.add(node.path);
      if (!r.line.isConnected) body.append(r.line);
    }
    for (const [path, r] of rows) {
      if (!seen.has(path)) {
        r.line.remove();
        rows.delete(path);
      }
    }
  }

  function draw() {
    layout();
    paint();
  }

  function select(path) {
    if (selected !== path) pending = null;
    selected = path;
    const node = nodes.get(path);
    details = entry.live || !node ? null : { error: node.error, events: [] };  // a snapshot has the last error only
    if (entry.live) model.send({ t: "details", path });
    paint();
    drawDetails();
  }

  function act(what) {
    pending = null;
    model.send({ t: "action", action: what.action, path: what.path });
    notes.push({ key: `${what.path} ${what.action}`, ok: null, message: `${what.label} ${what.path}: asked…` });
    drawDetails();
  }

  // The details panel in parts, each redrawn only when what it shows changed, so a selection in
  // the traceback survives the batches and the clock.
  const head = el_("div", "scope-ext-details-head");
  const summary = el_("dl", "scope-ext-summary");
  const actions = el_("div", "scope-ext-actions");
  const noteBox = el_("div", "scope-ext-notes");
  const detailBody = el_("div", "scope-ext-details-body");
  panel.append(noteBox, head, summary, actions, detailBody);
  const drawn = { head: null, actions: null, notes: null, body: null };

  function changed(part, value) {
    const text = JSON.stringify(value);
    if (drawn[part] === text) return false;
    drawn[part] = text;
    return true;
  }

  function drawDetails() {
    const node = selected ? nodes.get(selected) : undefined;
    const now = entry.at ?? Date.now() / 1000;
    if (changed("notes", notes)) {
      noteBox.replaceChildren(...notes.map((note, i) => {
        const box = el_("div", "scope-ext-note", note.message);
        box.dataset.ok = String(note.ok);
        const close = el_("button", "scope-ext-dismiss", "×");
        close.title = "dismiss";
        close.onclick = () => { notes.splice(i, 1); drawDetails(); };
        box.append(close);
        return box;
      }));
    }
    if (!node) {
      if (changed("head", null)) {
        head.replaceChildren(el_("div", "scope-ext-empty", selected ? `${selected} is gone.` : "Select a service to see its state, last exception and recent events."));
        summary.replaceChildren();
        actions.replaceChildren();
        detailBody.replaceChildren();
        drawn.body = drawn.actions = null;
      }
      return;
    }
    if (changed("head", [node.path, node.kind, node.status, node.health])) {
      const title = el_("div", "scope-ext-details-title", `${node.id}`);
      const tag = el_("span", "scope-ext-details-tag", ` ${kindText(node)} · ${node.health && node.health !== "ok" ? node.health : node.status}`);
      title.append(tag);
      head.replaceChildren(title, el_("div", "scope-ext-details-path", node.path));
    }
    const facts = [["restarts", `${node.restarts || 0} (${node.recent || 0} in the last minute)`]];
    if (node.strategy) facts.push(["strategy", `${node.dynamic ? "dynamic, " : ""}${node.strategy}`], ["restart budget", `${node.used} used, ${node.left} of ${node.max} left`]);
    if (node.capacity) facts.push(["mailbox", `${node.mailbox} of ${node.capacity}`]);
    if (node.started != null) facts.push(["uptime", uptime(node.started, now)]);
    const kids = (byParent.get(node.path) || []).length;
    if (kids) facts.push(["children", String(kids)]);
    if (changed("summary", facts)) {
      summary.replaceChildren(...facts.flatMap(([k, v]) => [el_("dt", null, k), el_("dd", null, v)]));
    }
    const parent = node.p == null ? null : nodes.get(node.p);
    const offered = entry.live ? actionsFor(node, parent, subtree(byParent, node.path)).map((a) => ({ ...a, path: node.path })) : [];
    if (changed("actions", [offered, pending])) {
      actions.replaceChildren(...offered.map((what) => {
        const button = el_("button", `scope-ext-${what.action}`, what.label);
        button.onclick = () => { pending = what; drawDetails(); };
        return button;
      }));
      if (pending && pending.path === node.path) {  // confirmed here, saying what will happen
        const box = el_("div", "scope-ext-confirm");
        box.append(el_("div", null, pending.says));
        const yes = el_("button", "scope-ext-confirm-yes", `${pending.label} ${node.id}`);
        const what = pending;
        yes.onclick = () => act(what);
        const no = el_("button", "scope-ext-confirm-no", "cancel");
        no.onclick = () => { pending = null; drawDetails(); };
        box.append(yes, no);
        actions.append(box);
      }
    }
    if (changed("body", [node.path, details, node.error])) {
      const parts = [];
      const tb = details?.traceback;
      const line = exceptionLine(tb, details ? details.error : node.error);
      parts.push(el_("div", "scope-ext-exception", line || "no exception"));
      if (tb) {
        const copy = el_("button", "scope-ext-copy", "copy traceback");
        copy.onclick = () => navigator.clipboard?.writeText(tb);
        const pre = el_("pre", "scope-ext-traceback");
        let internal = false;
        for (const text of tb.trimEnd().split("\n")) {
          if (/^\s*File "/.test(text)) internal = internalFrame(text);
          const span = el_("span", /^\s*File "/.test(text) || /^\s{4}/.test(text)
            ? (internal ? "scope-ext-frame-internal" : "scope-ext-frame-user") : null, `${text}\n`);
          pre.append(span);
        }
        parts.push(copy, pre);
      }
      if (details?.events?.length) {
        parts.push(el_("div", "scope-ext-details-subtitle", "recent events"));
        const events = el_("div", "scope-ext-details-events");
        for (const ev of details.events.slice(0, 20)) {
          const item = el_("div", "scope-ext-details-event");
          item.append(el_("span", "scope-ext-event-type", `#${ev.id} ${ev.type}`), el_("span", "scope-ext-event-data", JSON.stringify(ev.data)));
          events.append(item);
        }
        parts.push(events);
      }
      if (details?.note) parts.push(el_("div", "scope-ext-note", details.note));  // e.g. the event store is restarting
      detailBody.replaceChildren(...parts);
    }
  }

  function onMessage(msg) {
    if (msg.t === "tree") {
      draw();
      if (msg.reset || (selected && (selected in (msg.set || {}) || (msg.del || []).includes(selected)))) drawDetails();
    } else if (msg.t === "details" && msg.path === selected) {
      details = msg;
      drawDetails();
    } else if (msg.t === "action" || msg.t === "error") {  // an answer, or a request refused
      const key = `${msg.path} ${msg.action}`;
      const at = notes.findIndex((n) => n.key === key && n.ok === null);
      const note = { key, ok: msg.ok ?? false, message: msg.message };
      if (at >= 0) notes[at] = note; else notes.push(note);
      drawDetails();
      if (selected && entry.live) model.send({ t: "details", path: selected });
    }
  }

  list.onscroll = () => paint();
  // Uptimes tick here, not over the wire (only the rows in sight change); a selected service's
  // details (its recent events) are asked for again every few seconds.
  let ticks = 0;
  const clock = entry.live
    ? setInterval(() => {
        paint();
        drawDetails();
        if (selected && ++ticks % 3 === 0) {
          try {
            model.send({ t: "details", path: selected });
          } catch {
            // the kernel is gone (restarted, shut down): nothing to ask until the view reconnects
          }
        }
      }, 1000)
    : null;
  draw();
  drawDetails();
  const disconnect = connect(model, el, entry, onMessage);
  return () => { clearInterval(clock); disconnect(); };
}

// Event timeline.
// The kernel streams {t: "events", reset, items: [[id, time, ns, type, severity, correlation,
// parent, source, data], ...]} in append-only batches; the page keeps a bounded ring and draws
// only the rows in sight, so 100,000 events stay smooth.
const ROW = 20;
const TIMELINE_COLUMNS = ["severity", "id", "time", "namespace", "type", "service", "data"];
const SEVERITY_COLOR = { error: "#b71c1c", warning: "#9a4a00", info: "#455a64" };  // static HTML (light) only

// Consecutive events alike in namespace, type, severity, service and data up to its numbers (as
// Grafana's "numbers" dedup): a crash loop's rows, whose pids and counts differ, are one row with
// its count. Returns [[first index, count], ...] over `events`.
function signature(e) {
  if (e.signature === undefined) e.signature = String(e[8]).replace(/\d+(\.\d+)?/g, "#");  // once per event
  return e.signature;
}

export function groupRuns(events) {
  const runs = [];
  let last = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (last && e[2] === last[2] && e[3] === last[3] && e[4] === last[4] && e[7] === last[7] && signature(e) === signature(last)) {
      runs[runs.length - 1][1]++;
    } else {
      runs.push([i, 1]);
    }
    last = e;
  }
  return runs;
}

function renderTimeline({ model, el }, entry) {
  const state = entry.state;
  let shown = [];
  let lines = [];  // what is drawn, one per row: [index into shown, count] (count > 1: a group)
  const opened = new Set();  // ids of groups the user opened into their events
  const filters = { ns: "", type: "", severity: "", correlation: "" };
  let following = true;  // at the newest; scrolling away stops that until the user comes back
  let unseen = 0;
  el.classList.add("scope-ext-timeline");

  const bar = el_("div", "scope-ext-filters");
  const nsSelect = el_("select");
  const typeInput = el_("input");
  typeInput.placeholder = "type contains";
  const sevSelect = el_("select");
  for (const v of ["", "error", "warning", "info"]) sevSelect.append(new Option(v || "any severity", v));
  const corrInput = el_("input");
  corrInput.placeholder = "correlation id";
  const groupBox = el_("input", "scope-ext-group-alike");
  groupBox.type = "checkbox";
  groupBox.checked = true;
  const groupLabel = el_("label");
  groupLabel.append(groupBox, " group alike");
  groupLabel.title = "show consecutive events that differ only in their numbers as one row with a count";
  const count = el_("span", "scope-ext-count");
  const newest = el_("button", "scope-ext-newest");
  newest.hidden = true;
  newest.onclick = () => { following = true; toEnd(); };
  bar.append(nsSelect, typeInput, sevSelect, corrInput, groupLabel, count, newest);

  const header = el_("div", "scope-ext-event-header");
  for (const name of TIMELINE_COLUMNS) header.append(el_("span", null, name));
  const viewport = el_("div", "scope-ext-viewport");
  const spacer = el_("div");
  const rows = el_("div", "scope-ext-rows");
  const empty = el_("div", "scope-ext-empty");
  viewport.append(spacer, rows);
  el.append(bar, header, viewport);

  let namesShown = 0;
  function refreshNamespaces() {
    const names = [...state.namespaces].sort();
    namesShown = names.length;
    const current = nsSelect.value;
    nsSelect.replaceChildren(new Option("all namespaces", ""), ...names.map((n) => new Option(n, n)));
    nsSelect.value = names.includes(current) ? current : "";
  }

  function matches(e) {
    return (!filters.ns || e[2] === filters.ns) && (!filters.type || e[3].includes(filters.type)) &&
      (!filters.severity || e[4] === filters.severity) && (!filters.correlation || e[5] === filters.correlation);
  }

  function refilter() {
    const filtered = filters.ns || filters.type || filters.severity || filters.correlation;
    shown = filtered ? state.events.filter(matches) : state.events;
    lines = [];
    for (const [first, n] of groupBox.checked ? groupRuns(shown) : [[0, shown.length]]) {
      if (n > 1 && groupBox.checked && !opened.has(shown[first][0])) lines.push([first, n]);
      else for (let i = first; i < first + n; i++) lines.push([i, 1]);
    }
    count.textContent = `${shown.length} of ${state.events.length} events`;
    spacer.style.height = `${lines.length * ROW}px`;
    empty.textContent = state.events.length ? "No event matches the filters." : "No events yet: they appear here as services start, crash and report.";
    if (!lines.length !== empty.isConnected) { if (lines.length) empty.remove(); else rows.before(empty); }
    draw();
  }

  function draw() {
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 5);
    const last = Math.min(lines.length, first + Math.ceil((viewport.clientHeight || 400) / ROW) + 10);
    rows.style.transform = `translateY(${first * ROW}px)`;
    rows.replaceChildren(...lines.slice(first, last).map(([index, n]) => {
      const e = shown[index + n - 1];  // a group shows its newest event
      const line = el_("div", "scope-ext-event");
      line.dataset.id = e[0];
      line.style.height = `${ROW}px`;
      // severity, #id, time, namespace, type, source (the service), data; the full data in a tooltip
      const cells = [e[4], n > 1 ? `#${shown[index][0]}–${e[0]}` : `#${e[0]}`, new Date(e[1] * 1000).toLocaleTimeString(), e[2], e[3], e[7] ?? "", e[8]];
      for (const text of cells) line.append(Object.assign(el_("span", null, text), { title: text }));
      line.firstChild.className = "scope-ext-severity";
      line.firstChild.dataset.severity = e[4];
      if (n > 1) {  // a group: its count, and a click opens it into its events
        line.dataset.repeat = n;
        const badge = el_("span", "scope-ext-repeat", `×${n}`);
        badge.title = `${n} consecutive ${e[3]} events from ${e[7] ?? "the runtime"}: click to show each`;
        badge.onclick = () => { opened.add(shown[index][0]); refilter(); };
        line.children[4].append(badge);
      }
      if (e[5] != null) {
        const corr = el_("a", "scope-ext-correlation", ` [${e[5]}]`);
        corr.onclick = () => { corrInput.value = filters.correlation = e[5]; refilter(); };  // follow the chain
        line.lastChild.prepend(corr);
      }
      return line;
    }));
  }

  function toEnd() {
    viewport.scrollTop = viewport.scrollHeight;
    unseen = 0;
    newest.hidden = true;
  }

  const atEnd = () => viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW * 2;
  function onMessage(msg) {
    if (msg.t !== "events") return;
    const started = performance.now();
    if (msg.reset || state.namespaces.size !== namesShown) refreshNamespaces();
    refilter();
    if (following || msg.reset) {
      following = true;
      toEnd();
    } else {
      unseen += msg.items.length;
      newest.textContent = `↓ ${unseen} new`;
      newest.hidden = false;
    }
    el.dataset.applyMs = (performance.now() - started).toFixed(1);  // how long a batch took to show: for tests
  }

  nsSelect.onchange = () => { filters.ns = nsSelect.value; refilter(); };
  typeInput.oninput = () => { filters.type = typeInput.value; refilter(); };
  sevSelect.onchange = () => { filters.severity = sevSelect.value; refilter(); };
  corrInput.oninput = () => { filters.correlation = corrInput.value; refilter(); };
  groupBox.onchange = () => refilter();
  viewport.onscroll = () => {
    following = atEnd();
    if (following) { unseen = 0; newest.hidden = true; }
    draw();
  };
  refreshNamespaces();
  refilter();
  requestAnimationFrame(toEnd);  // opens at the newest
  return connect(model, el, entry, onMessage);
}

// Telemetry.
// The kernel replays each metric's history on hello, then sends only new points:
// {t: "metrics", reset, metrics: {name: {kind, points: [[time, value]], summary: [value, count, p50, p90, p99, rate]}}}.
// Each chart is a uPlot time series: counters and sums as their rate per second, gauges as they
// are, distributions as p50 / p90 / p99 over time; the legend reads the values under the pointer.
const CHART_W = 380;
const CHART_H = 170;
const CHARTS_AT_FIRST = 12;  // metrics charted when a view opens (the picker charts any other)

// The unit a metric's values are in, from its name ("…duration", "…_ms", "…bytes"); "" if unknown.
export function unitOf(name) {
  const n = name.toLowerCase();
  if (/(^|[._])(ms|millis|milliseconds)([._]|$)/.test(n)) return "ms";
  if (/(duration|latency|elapsed|seconds|(^|[._])s([._]|$))/.test(n)) return "s";
  if (/(bytes|memory|rss)/.test(n)) return "B";
  return "";
}

// Three significant digits without trailing zeros after the point (340, 1.5, 0.25).
function digits(v) {
  const text = v.toPrecision(3);
  return text.includes(".") && !text.includes("e") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

// A value with its unit, scaled (1.2 kB, 340 µs, 12.5k/s).
export function formatValue(v, unit) {
  if (v == null || !Number.isFinite(v)) return v == null ? "–" : String(v);
  const abs = Math.abs(v);
  if (unit === "B") {
    const steps = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    for (; abs >= 1000 ** (i + 1) && i < steps.length - 1; i++);
    return `${digits(v / 1000 ** i)} ${steps[i]}`;
  }
  if (unit === "s" && abs < 1 && abs > 0) {
    return abs < 1e-3 ? `${digits(v * 1e6)} µs` : `${digits(v * 1e3)} ms`;
  }
  let text;
  if (abs >= 1e9) text = `${digits(v / 1e9)}G`;
  else if (abs >= 1e6) text = `${digits(v / 1e6)}M`;
  else if (abs >= 1e4) text = `${digits(v / 1e3)}k`;
  else text = Number.isInteger(v) ? String(v) : digits(v);
  return unit ? `${text} ${unit}` : text;
}

// A running total's points as per-second rates over spans of at least `step` seconds (as the
// kernel's `rates`): a counter only ever grows, how fast it grows is what tells.
export function rates(points, step = 1) {
  const out = [];
  let anchor = null;
  for (const [t, v] of points) {
    if (anchor === null) anchor = [t, v];
    else if (t - anchor[0] >= step) { out.push([t, (v - anchor[1]) / (t - anchor[0])]); anchor = [t, v]; }
  }
  return out;
}

// p50 / p90 / p99 of a distribution's points over time, in up to `buckets` spans.
export function percentileSeries(points, buckets = 60) {
  if (!points.length) return [[], [], [], []];
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const width = Math.max((t1 - t0) / buckets, 1e-3);
  const out = [[], [], [], []];
  let at = 0;
  while (at < points.length) {
    const bucket = Math.min(buckets - 1, Math.floor((points[at][0] - t0) / width));
    const end = bucket === buckets - 1 ? Infinity : t0 + width * (bucket + 1);
    const values = [];
    let last = points[at][0];
    do { values.push(points[at][1]); last = points[at][0]; at++; } while (at < points.length && points[at][0] < end);
    values.sort((a, b) => a - b);
    const pct = (q) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))];
    out[0].push(last); out[1].push(pct(0.5)); out[2].push(pct(0.9)); out[3].push(pct(0.99));
  }
  return out;
}

// Counters and sums only add up: how fast they grow is what their charts and percentiles show.
const isTotal = (m) => m.kind === "counter" || m.kind === "sum";
const perSecond = (unit) => (unit ? `${unit}/s` : "/s");

// What a metric's chart draws: uPlot's columns (times, then one array per series) and its series.
function chartData(m) {
  if (m.kind === "distribution") {
    return { data: percentileSeries(m.points), series: ["p50", "p90", "p99"], perSecond: false };
  }
  const pts = isTotal(m) ? rates(m.points) : m.points;
  return { data: [pts.map((p) => p[0]), pts.map((p) => p[1])], series: [isTotal(m) ? "rate" : "value"], perSecond: isTotal(m) };
}

let canvasChecked = null;
function canDraw() {  // uPlot in this bundle and a canvas that draws (browsers, not jsdom); else no charts
  if (!uPlot) return false;
  if (canvasChecked === null) {
    try { canvasChecked = typeof navigator !== "undefined" && !/jsdom/.test(navigator.userAgent) && !!document.createElement("canvas").getContext("2d"); }
    catch { canvasChecked = false; }
  }
  return canvasChecked;
}

function themed(el, name, fallback) {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

function renderTelemetry({ model, el }, entry) {
  const { metrics } = entry.state;
  el.classList.add("scope-ext-telemetry");
  const key = model.model_id || model.cid || "telemetry";
  if (!viewMemory.has(key)) viewMemory.set(key, { charted: null });
  const memory = viewMemory.get(key);
  const picker = el_("div", "scope-ext-metric-picker");
  const grid = el_("div", "scope-ext-charts");
  const empty = el_("div", "scope-ext-empty", "No metrics yet: telemetry.counter(), .sum(), .last_value() or .distribution() add some.");
  const table = el_("table", "scope-ext-telemetry-table");
  el.append(empty, picker, grid, table);
  const charts = new Map();  // name -> {box, title, plot, shape}
  const boxes = new Map();  // name -> its picker checkbox

  function charted() {
    if (memory.charted === null && metrics.size) memory.charted = new Set([...metrics.keys()].sort().slice(0, CHARTS_AT_FIRST));
    return memory.charted || new Set();
  }

  function titleOf(name, m) {
    const unit = unitOf(name);
    const [value, count, p50, p90, p99, rate] = m.summary;
    const bits = m.kind === "distribution"
      ? `p50 ${formatValue(p50, unit)} · p90 ${formatValue(p90, unit)} · p99 ${formatValue(p99, unit)}`
      : isTotal(m)
        ? `${formatValue(rate, perSecond(unit))} · total ${formatValue(value, unit)}`
        : formatValue(value, unit);
    return [name, `${m.kind} · ${bits} · ${count} observed`];
  }

  function chart(name, m) {
    let c = charts.get(name);
    const shape = chartData(m);
    if (!c) {
      const box = el_("div", "scope-ext-chart");
      box.dataset.metric = name;
      const title = el_("div", "scope-ext-chart-title");
      box.append(title);
      c = { box, title, plot: null, shape: null };
      charts.set(name, c);
    }
    const [head, line] = titleOf(name, m);
    const text = `${head}\n${line}`;
    if (c.title.dataset.text !== text) {
      c.title.dataset.text = text;
      c.title.replaceChildren(el_("b", null, head), el_("br"), line);
    }
    if (!canDraw()) return c;
    const unit = unitOf(name);
    const shown = shape.perSecond ? perSecond(unit) : unit;
    const signature = shape.series.join();
    if (c.plot && c.shape === signature) {
      c.plot.setData(shape.data);
      return c;
    }
    c.plot?.destroy();
    c.shape = signature;
    const ink = themed(el, "--jp-ui-font-color1", "#333");
    const rule = themed(el, "--jp-border-color2", "#ddd");
    const colours = [themed(el, "--scope-bar", "#1565c0"), themed(el, "--scope-warning", "#9a4a00"), themed(el, "--scope-error", "#b71c1c")];
    const axis = { stroke: ink, grid: { stroke: rule, width: 1 }, ticks: { stroke: rule, width: 1 } };
    c.plot = new uPlot({
      width: CHART_W, height: CHART_H,
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 64, values: (u, ticks) => ticks.map((v) => formatValue(v, shown)) }],
      series: [{}, ...shape.series.map((label, i) => ({ label, stroke: colours[i], width: 1.5, value: (u, v) => formatValue(v, shown) }))],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    }, shape.data, c.box);
    return c;
  }

  function drawPicker() {
    const names = [...metrics.keys()].sort();
    const wanted = charted();
    for (const name of names) {
      if (boxes.has(name)) { boxes.get(name).checked = wanted.has(name); continue; }
      const box = el_("input");
      box.type = "checkbox";
      box.dataset.metric = name;
      box.checked = wanted.has(name);
      box.onchange = () => { if (box.checked) wanted.add(name); else wanted.delete(name); draw(); };
      const label = el_("label");
      label.append(box, ` ${name}`);
      picker.append(label);
      boxes.set(name, box);
    }
  }

  function drawTable() {
    const head = el_("tr");
    for (const title of ["metric", "kind", "value", "rate/s", "observed", "p50", "p90", "p99"]) head.append(el_("th", null, title));
    const rows = [...metrics.keys()].sort().map((name) => {
      const m = metrics.get(name);
      const unit = unitOf(name);
      const [value, count, p50, p90, p99, rate] = m.summary;
      const pUnit = isTotal(m) ? perSecond(unit) : unit;
      const tr = el_("tr");
      for (const text of [name, m.kind, formatValue(value, unit), formatValue(rate, unit ? `${unit}/s` : ""), String(count),
        formatValue(p50, pUnit), formatValue(p90, pUnit), formatValue(p99, pUnit)]) tr.append(el_("td", null, text));
      return tr;
    });
    table.replaceChildren(head, ...rows);
  }

  function draw() {
    empty.style.display = metrics.size ? "none" : "";
    table.style.display = metrics.size ? "" : "none";
    drawPicker();
    const wanted = charted();
    const names = [...metrics.keys()].sort().filter((name) => wanted.has(name));
    for (const [name, c] of charts) {
      if (!wanted.has(name) || !metrics.has(name)) { c.plot?.destroy(); c.box.remove(); charts.delete(name); }
    }
    let previous = null;
    for (const name of names) {
      const c = chart(name, metrics.get(name));
      const want = previous ? previous.nextSibling : grid.firstChild;
      if (c.box !== want) grid.insertBefore(c.box, want);
      previous = c.box;
    }
    drawTable();
  }

  function onMessage(msg) {
    if (msg.t === "metrics") draw();
  }
  draw();
  const disconnect = connect(model, el, entry, onMessage);
  return () => { disconnect(); for (const c of charts.values()) c.plot?.destroy(); };
}

// An index run's progress.
function renderProgress({ model, el }, entry) {
  el.classList.add("scope-ext-progress");
  const title = document.createElement("div");
  const track = document.createElement("div");
  track.className = "scope-ext-progress-track";
  const bar = document.createElement("div");
  bar.className = "scope-ext-progress-bar";
  track.append(bar);
  const line = document.createElement("div");
  line.className = "scope-ext-progress-line";
  el.append(title, track, line);

  function onMessage(msg) {
    if (msg === null || msg.t !== "progress") return;
    title.textContent = msg.title;
    const share = msg.files_total ? msg.files_done / msg.files_total : msg.status === "running" ? 0 : 1;
    bar.style.width = `${(share * 100).toFixed(1)}%`;
    bar.dataset.status = msg.status;
    const eta = msg.eta != null && msg.status === "running" ? `, ETA ${msg.eta.toFixed(1)} s` : "";
    const took = msg.elapsed != null ? ` after ${msg.elapsed.toFixed(1)} s` : "";  // older snapshots have none
    line.textContent = `${msg.status}${took}: ${msg.files_done}/${msg.files_total} files ` +
      `(${msg.files_skipped} unchanged), ${msg.errors} errors, ${Math.round(msg.rate)} files/s${eta}`;
  }
  onMessage(entry.state.last);
  return connect(model, el, entry, onMessage);
}

const VIEWS = { tree: renderTree, timeline: renderTimeline, telemetry: renderTelemetry, progress: renderProgress };

// anywidget calls this once per widget: `entry` is that widget's state and its views' listeners.
export default () => {
  let entry = null;
  return {
    initialize({ model }) {
      entry = makeEntry(model.get("kind"), true);
      const store = STORES[entry.kind];
      model.on("msg:custom", (msg) => {
        // Until a batch that holds everything (the answer to hello), changes have nothing to
        // change: a reloaded page's model gets the kernel's next changes before its view says hello.
        const whole = msg != null && (msg.reset === true || msg.t === "progress");
        if (!whole && !entry.received && (msg?.t in { tree: 1, events: 1, metrics: 1 })) return;
        if (whole) entry.received = true;
        store.apply(entry.state, msg, model);
        for (const listener of entry.listeners) listener(msg);
      });
    },
    render: ({ model, el }) => VIEWS[model.get("kind")]({ model, el }, entry),
  };
};

// A saved snapshot, drawn into `el` by the live views' own code with nothing to talk to.
// Returns a function that disposes of what it drew; a snapshot it cannot read raises an Error
// that says why.
const DASHBOARD_TABS = { tree: "supervision", timeline: "events", telemetry: "telemetry", progress: "progress" };

export function renderSnapshot(snapshot, el) {
  check(snapshot);
  if (snapshot.kind === "dashboard") return renderDashboard(snapshot, el);
  const { entry, model } = load(snapshot);
  el.classList.add("scope-ext-snapshot");
  return VIEWS[snapshot.kind]({ model, el }, entry);
}

function check(snapshot) {
  if (snapshot == null || typeof snapshot !== "object") throw new Error("a scope_ext snapshot must be an object");
  if (snapshot.v !== SNAPSHOT_VERSION) {
    throw new Error(`snapshot version ${snapshot.v} is not one this version reads (${SNAPSHOT_VERSION})`);
  }
  if (snapshot.kind !== "dashboard" && VIEWS[snapshot.kind] === undefined) {
    throw new Error(`unknown snapshot kind ${JSON.stringify(snapshot.kind)}; known: ${Object.keys(VIEWS).join(", ")}`);
  }
}

// A view's snapshot as an entry with its state, and a model that answers with its traits.
function load(snapshot) {
  const entry = makeEntry(snapshot.kind, false);
  entry.at = snapshot.at;
  entry.received = true;
  const traits = { ring: 100000, ...snapshot.traits };
  const model = { get: (name) => traits[name], send() {}, on() {} };
  if (snapshot.batch != null) STORES[snapshot.kind].apply(entry.state, snapshot.batch, model);
  return { entry, model };
}

function renderDashboard(snapshot, el) {
  const bar = document.createElement("div");
  bar.className = "scope-ext-tabs";
  const pages = [];
  const disposers = [];
  for (const view of snapshot.views || []) {
    const page = document.createElement("div");  // hidden or not; the view inside sets its own display
    page.className = "scope-ext-page";
    const body = document.createElement("div");
    page.append(body);
    disposers.push(renderSnapshot(view, body));
    const button = document.createElement("button");
    button.textContent = DASHBOARD_TABS[view.kind] || view.kind;
    button.onclick = () => show(pages.indexOf(page));
    bar.append(button);
    pages.push(page);
  }
  function show(index) {
    pages.forEach((page, i) => { page.hidden = i !== index; bar.children[i].classList.toggle("selected", i === index); });
  }
  el.append(bar, ...pages);
  if (pages.length) show(0);
  return () => disposers.forEach((dispose) => dispose());
}

// A snapshot as static HTML with inline styles only, for viewers without the JupyterLab extension
// (GitHub, nbviewer): the extension stores it as the output's text/html when a notebook is saved.
const HTML_ROWS = 50;

function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const STATIC_HTML = {
  tree(state, at) {
    const lines = [];
    const byParent = childrenIndex(state.nodes);
    const walk = (parent, depth) => {
      for (const node of byParent.get(parent) || []) {
        const dot = `<span style="color:${dotColor(node)}">●</span>`;
        lines.push(`${"  ".repeat(depth)}${dot} ${escapeHTML(nodeText(node, at))}`);
        walk(node.path, depth + 1);
      }
    };
    walk(null, 0);
    return `<pre style="font-size:12px;line-height:1.4;margin:0">${lines.join("\n")}</pre>`;
  },
  timeline(state) {
    const rows = state.events.slice(-HTML_ROWS).map((e) =>
      `<tr><td>${e[0]}</td><td>${new Date(e[1] * 1000).toISOString().slice(11, 19)}</td><td>${escapeHTML(e[2])}</td>` +
      `<td>${escapeHTML(e[3])}</td><td style="color:${SEVERITY_COLOR[e[4]] || "#000"}">${e[4]}</td>` +
      `<td>${escapeHTML(e[5] ?? "")}</td></tr>`);
    return table(["id", "time (UTC)", "namespace", "type", "severity", "correlation"], rows,
      `${state.events.length} events, the last ${Math.min(HTML_ROWS, state.events.length)}`);
  },
  telemetry(state) {
    const cell = (v) => `<td>${v == null ? "–" : escapeHTML(Number.isInteger(v) ? v : Number(v).toPrecision(4))}</td>`;
    const rows = [...state.metrics.keys()].sort().map((name) => {
      const m = state.metrics.get(name);
      return `<tr><td>${escapeHTML(name)}</td><td>${escapeHTML(m.kind)}</td>${m.summary.map(cell).join("")}</tr>`;
    });
    return table(["metric", "kind", "value", "observed", "p50", "p90", "p99", "rate/s"], rows, "telemetry");
  },
  progress(state) {
    const m = state.last;
    return m ? `<div>${escapeHTML(`${m.title}: ${m.status}, ${m.files_done}/${m.files_total} files, ${m.errors} errors`)}</div>` : "";
  },
};

function table(columns, rows, caption) {
  const head = columns.map((c) => `<th style="text-align:left;padding:0 6px">${c}</th>`).join("");
  return `<table style="font-size:12px;border-collapse:collapse"><caption style="text-align:left">${escapeHTML(caption)}` +
    `</caption><tr>${head}</tr>${rows.join("")}</table>`;
}

export function snapshotHTML(snapshot) {
  check(snapshot);
  const taken = `scope_ext ${snapshot.kind} snapshot of ${new Date(snapshot.at * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;
  const body = snapshot.kind === "dashboard"
    ? snapshot.views.map((view) => `<h4 style="margin:8px 0 4px">${DASHBOARD_TABS[view.kind] || view.kind}</h4>${viewHTML(view)}`).join("")
    : viewHTML(snapshot);
  return `<div style="font-family:monospace"><div style="color:#777;font-style:italic">${taken}</div>${body}</div>`;
}

function viewHTML(snapshot) {
  check(snapshot);
  return STATIC_HTML[snapshot.kind](load(snapshot).entry.state, snapshot.at);
}

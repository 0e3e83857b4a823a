// scope_ext's views (one module for all of them; no imports, nothing fetched). Two users:
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
  // A page that has nothing yet (reopened, reloaded, or too early for the first batch) asks for everything.
  model.send({ t: "hello", fresh: !entry.received });
  return () => { observer.disconnect(); entry.listeners.delete(onMessage); };
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
const collapsedByModel = new Map();

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

function renderTree({ model, el }, entry) {
  const { nodes } = entry.state;
  let byParent = new Map();
  const key = model.model_id || model.cid || "view";
  if (!collapsedByModel.has(key)) collapsedByModel.set(key, new Set());
  const collapsed = collapsedByModel.get(key);
  let selected = null;
  let details = null;

  el.classList.add("scope-ext-tree");
  // Search and "only unhealthy": matching nodes show with their ancestors, collapsed or not.
  const bar = document.createElement("div");
  bar.className = "scope-ext-filters";
  const search = document.createElement("input");
  search.type = "search";
  search.placeholder = "search services";
  search.className = "scope-ext-search";
  const unhealthyBox = document.createElement("input");
  unhealthyBox.type = "checkbox";
  unhealthyBox.className = "scope-ext-only-unhealthy";
  const unhealthyLabel = document.createElement("label");
  unhealthyLabel.append(unhealthyBox, " only unhealthy");
  const count = document.createElement("span");
  count.className = "scope-ext-count";
  bar.append(search, unhealthyLabel, count);
  search.oninput = () => draw();
  unhealthyBox.onchange = () => draw();
  const list = document.createElement("div");
  list.className = "scope-ext-tree-list";
  const empty = document.createElement("div");
  empty.className = "scope-ext-empty";
  const panel = document.createElement("div");
  panel.className = "scope-ext-tree-details";
  el.append(bar, list, panel);

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

  function children(path) {
    return byParent.get(path) || [];
  }

  // Keyed rows: one element per path, kept across batches and clock ticks and changed in place,
  // so a press and its release land on the same element and selections, scroll and focus stay.
  const rows = new Map();  // path -> {line, toggle, dot, label, below, color}

  function rowOf(path) {
    let r = rows.get(path);
    if (r) return r;
    const line = document.createElement("div");
    line.dataset.path = path;
    const toggle = document.createElement("span");
    toggle.className = "scope-ext-toggle";
    toggle.onclick = (e) => {
      e.stopPropagation();
      if (collapsed.has(path)) collapsed.delete(path); else collapsed.add(path);
      draw();
    };
    const dot = document.createElement("span");
    dot.className = "scope-ext-dot";
    const label = document.createElement("span");
    label.className = "scope-ext-label";
    line.append(toggle, dot, label);
    line.onclick = () => select(path);
    r = { line, toggle, dot, label, below: null, color: null };
    rows.set(path, r);
    return r;
  }

  function set(target, key, value) {  // touch the DOM only where something changed
    if (target[key] !== value) target[key] = value;
  }

  function update(r, node, depth, now) {
    set(r.line, "className", "scope-ext-node" + (node.path === selected ? " selected" : ""));
    set(r.line.dataset, "status", node.status);
    set(r.line.dataset, "health", node.health || "ok");
    set(r.line.style, "paddingLeft", `${depth * 16}px`);
    set(r.toggle, "textContent", children(node.path).length ? (collapsed.has(node.path) ? "▸" : "▾") : " ");
    const color = dotColor(node);  // kept as given: the browser reports colours back as rgb()
    if (r.color !== color) {
      r.color = color;
      r.dot.style.background = color;
    }
    set(r.label, "textContent", nodeText(node, now));
    const mark = r.below ? r.below.dataset.below : undefined;
    if (mark !== (HEALTH_COLOR[node.below] ? node.below : undefined)) {
      r.below?.remove();
      r.below = belowMark(node);
      if (r.below) r.line.append(r.below);
    }
  }

  function select(path) {
    selected = path;
    const node = nodes.get(path);
    details = entry.live || !node ? null : { error: node.error, events: [] };  // a snapshot has the last error only
    if (entry.live) model.send({ t: "details", path });
    draw();
    drawDetails();
  }

  function action(name) {
    if (!selected) return;
    if (!window.confirm(`${name} ${selected}?`)) return;
    model.send({ t: "action", action: name, path: selected });
  }

  let drawn = null;  // what the details panel shows, to leave it alone when nothing changed

  function drawDetails() {
    const node = selected ? nodes.get(selected) : undefined;
    const shows = JSON.stringify([selected, node && [node.kind, node.status], details]);
    if (shows === drawn) return;  // a selection in the traceback survives a redraw that changes nothing
    drawn = shows;
    panel.replaceChildren();
    if (!node) return;
    const title = document.createElement("div");
    title.className = "scope-ext-details-title";
    title.textContent = `${node.id} (${node.kind}, ${node.status})`;
    panel.append(title);
    if (node.kind !== "namespace" && entry.live) {
      for (const name of ["restart", "terminate"]) {
        const button = document.createElement("button");
        button.textContent = name;
        button.className = `scope-ext-${name}`;
        button.onclick = () => action(name);
        panel.append(button);
      }
    }
    if (details) {
      const pre = document.createElement("pre");
      pre.textContent = details.traceback || details.error || "no exception";
      const events = document.createElement("ul");
      for (const ev of details.events.slice(0, 8)) {
        const item = document.createElement("li");
        item.textContent = `#${ev.id} ${ev.type} ${JSON.stringify(ev.data)}`;
        events.append(item);
      }
      panel.append(pre, events);
      if (details.note) {  // e.g. the event store is restarting: the rest still answered
        const note = document.createElement("div");
        note.className = "scope-ext-note";
        note.textContent = details.note;
        panel.append(note);
      }
    }
  }

  function draw() {
    byParent = childrenIndex(nodes);
    const now = entry.at ?? Date.now() / 1000;
    const keep = shown();
    const seen = new Set();
    let previous = null;
    const visit = (node, depth) => {
      if (keep && !keep.has(node.path)) return;
      const r = rowOf(node.path);
      update(r, node, depth, now);
      seen.add(node.path);
      const wanted = previous ? previous.nextSibling : list.firstChild;
      if (r.line !== wanted) list.insertBefore(r.line, wanted);  // moves only what is out of place
      previous = r.line;
      if (keep || !collapsed.has(node.path)) for (const kid of children(node.path)) visit(kid, depth + 1);
    };
    for (const root of children(null)) visit(root, 0);
    const total = nodes.size;
    set(count, "textContent", keep ? `${seen.size} of ${total} shown` : `${total} ${total === 1 ? "node" : "nodes"}`);
    if (!seen.size) {  // an empty state that says why
      empty.textContent = keep ? "Nothing matches the search." : "No supervision tree yet: start a service in a namespace.";
      if (!empty.isConnected) list.append(empty);
    } else if (empty.isConnected) {
      empty.remove();
    }
    for (const [path, r] of rows) {
      if (!seen.has(path)) {
        r.line.remove();
        rows.delete(path);
      }
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
      const note = document.createElement("div");
      note.className = "scope-ext-note";
      note.textContent = msg.message;
      panel.append(note);
    }
  }

  // Uptimes tick here, not over the wire (only the labels' text changes); a selected service's
  // details (its recent events) are asked for again every few seconds.
  let ticks = 0;
  const clock = entry.live
    ? setInterval(() => {
        draw();
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
const SEVERITY_COLOR = { error: "#c62828", warning: "#ef6c00", info: "#546e7a" };

function renderTimeline({ model, el }, entry) {
  const state = entry.state;
  let shown = [];
  const filters = { ns: "", type: "", severity: "", correlation: "" };
  el.classList.add("scope-ext-timeline");

  const bar = document.createElement("div");
  bar.className = "scope-ext-filters";
  const nsSelect = document.createElement("select");
  const typeInput = document.createElement("input");
  typeInput.placeholder = "type contains";
  const sevSelect = document.createElement("select");
  for (const v of ["", "error", "warning", "info"]) sevSelect.append(new Option(v || "any severity", v));
  const corrInput = document.createElement("input");
  corrInput.placeholder = "correlation id";
  const count = document.createElement("span");
  count.className = "scope-ext-count";
  bar.append(nsSelect, typeInput, sevSelect, corrInput, count);

  const header = document.createElement("div");
  header.className = "scope-ext-event-header";
  for (const name of TIMELINE_COLUMNS) {
    const cell = document.createElement("span");
    cell.textContent = name;
    header.append(cell);
  }
  const viewport = document.createElement("div");
  viewport.className = "scope-ext-viewport";
  const spacer = document.createElement("div");
  const rows = document.createElement("div");
  rows.className = "scope-ext-rows";
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
    count.textContent = `${shown.length} of ${state.events.length} events`;
    spacer.style.height = `${shown.length * ROW}px`;
    draw();
  }

  function draw() {
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 5);
    const last = Math.min(shown.length, first + Math.ceil((viewport.clientHeight || 400) / ROW) + 10);
    rows.style.transform = `translateY(${first * ROW}px)`;
    rows.replaceChildren(...shown.slice(first, last).map((e) => {
      const line = document.createElement("div");
      line.className = "scope-ext-event";
      line.dataset.id = e[0];
      line.style.height = `${ROW}px`;
      // severity, #id, time, namespace, type, source (the service), data; the full data in a tooltip
      const cells = [e[4], `#${e[0]}`, new Date(e[1] * 1000).toLocaleTimeString(), e[2], e[3], e[7] ?? "", e[8]];
      for (const text of cells) {
        const cell = document.createElement("span");
        cell.textContent = text;
        cell.title = text;
        line.append(cell);
      }
      line.firstChild.className = "scope-ext-severity";
      line.firstChild.style.color = SEVERITY_COLOR[e[4]] || "#000";
      if (e[5] != null) {
        const corr = document.createElement("a");
        corr.className = "scope-ext-correlation";
        corr.textContent = ` [${e[5]}]`;
        corr.onclick = () => { corrInput.value = filters.correlation = e[5]; refilter(); };  // follow the chain
        line.lastChild.prepend(corr);
      }
      return line;
    }));
  }

  const follow = () => viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW * 2;
  function onMessage(msg) {
    if (msg.t !== "events") return;
    const started = performance.now();
    const atEnd = follow();
    if (msg.reset || state.namespaces.size !== namesShown) refreshNamespaces();
    refilter();
    if (atEnd) viewport.scrollTop = viewport.scrollHeight;
    el.dataset.applyMs = (performance.now() - started).toFixed(1);  // how long a batch took to show: for tests
  }

  nsSelect.onchange = () => { filters.ns = nsSelect.value; refilter(); };
  typeInput.oninput = () => { filters.type = typeInput.value; refilter(); };
  sevSelect.onchange = () => { filters.severity = sevSelect.value; refilter(); };
  corrInput.oninput = () => { filters.correlation = corrInput.value; refilter(); };
  viewport.onscroll = draw;
  refreshNamespaces();
  refilter();
  requestAnimationFrame(() => { viewport.scrollTop = viewport.scrollHeight; });  // opens at the newest
  return connect(model, el, entry, onMessage);
}

// Telemetry.
// The kernel replays each metric's history on hello, then sends only new points:
// {t: "metrics", reset, metrics: {name: {kind, points: [[time, value]], summary: [value, count, p50, p90, p99]}}}.
const W = 260;
const H = 60;

function renderTelemetry({ model, el }, entry) {
  const { metrics } = entry.state;
  el.classList.add("scope-ext-telemetry");
  const grid = document.createElement("div");
  grid.className = "scope-ext-charts";
  const empty = document.createElement("div");
  empty.className = "scope-ext-empty";
  empty.textContent = "no metrics yet: telemetry.counter(), .sum(), .last_value() or .distribution() add some";
  el.append(empty, grid);

  function fmt(v) {
    return v == null ? "–" : Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3);
  }

  function chart(name, m) {
    const box = document.createElement("div");
    box.className = "scope-ext-chart";
    box.dataset.metric = name;
    const title = document.createElement("div");
    title.className = "scope-ext-chart-title";
    const [value, count, p50, p90, p99] = m.summary;
    title.textContent = m.kind === "distribution"
      ? `${name}  p50 ${fmt(p50)}  p90 ${fmt(p90)}  p99 ${fmt(p99)}  (${count})`
      : `${name}  ${fmt(value)}  (${m.kind}, ${count})`;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    const pts = m.points;
    if (pts.length > 1) {
      const t0 = pts[0][0], t1 = pts[pts.length - 1][0] || t0 + 1;
      const values = pts.map((p) => p[1]);
      const lo = Math.min(...values), hi = Math.max(...values);
      const x = (t) => ((t - t0) / Math.max(t1 - t0, 1e-9)) * (W - 4) + 2;
      const y = (v) => H - 2 - ((v - lo) / Math.max(hi - lo, 1e-9)) * (H - 4);
      const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", m.kind === "distribution" ? "#6a1b9a" : "#1565c0");
      svg.append(line);
    }
    box.append(title, svg);
    return box;
  }

  function draw() {
    empty.style.display = metrics.size ? "none" : "";
    grid.replaceChildren(...[...metrics.keys()].sort().map((name) => chart(name, metrics.get(name))));
  }

  function onMessage(msg) {
    if (msg.t === "metrics") draw();
  }
  draw();

  return connect(model, el, entry, onMessage);
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
        entry.received = true;
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
    return table(["metric", "kind", "value", "observed", "p50", "p90", "p99"], rows, "telemetry");
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

// Supervision tree view (anywidget front-end module; no imports, nothing fetched).
// The kernel sends {t: "tree", set: {path: node}, del: [path]} batches at most ~10 per second;
// the view keeps the nodes, redraws, and remembers what is collapsed per model across redraws.
const STATUS_COLOR = {
  running: "#2e7d32", starting: "#00838f", restarting: "#f9a825", stopping: "#8e24aa",
  stopped: "#9e9e9e", down: "#c62828", dropped: "#9e9e9e",
};
const collapsedByModel = new Map();

function uptime(started) {
  if (started == null) return "";
  const s = Math.max(0, Date.now() / 1000 - started);
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function render({ model, el }) {
  const nodes = new Map();
  const key = model.model_id || model.cid || "view";
  if (!collapsedByModel.has(key)) collapsedByModel.set(key, new Set());
  const collapsed = collapsedByModel.get(key);
  let selected = null;
  let details = null;

  el.classList.add("scope-ext-tree");
  const list = document.createElement("div");
  list.className = "scope-ext-tree-list";
  const panel = document.createElement("div");
  panel.className = "scope-ext-tree-details";
  el.append(list, panel);

  function children(path) {
    return [...nodes.values()].filter((n) => n.p === path).sort((a, b) => a.i - b.i);
  }

  function row(node, depth) {
    const line = document.createElement("div");
    line.className = "scope-ext-node" + (node.path === selected ? " selected" : "");
    line.dataset.path = node.path;
    line.dataset.status = node.status;
    line.style.paddingLeft = `${depth * 16}px`;
    const kids = children(node.path);
    const toggle = document.createElement("span");
    toggle.className = "scope-ext-toggle";
    toggle.textContent = kids.length ? (collapsed.has(node.path) ? "▸" : "▾") : " ";
    toggle.onclick = (e) => {
      e.stopPropagation();
      if (collapsed.has(node.path)) collapsed.delete(node.path); else collapsed.add(node.path);
      draw();
    };
    const dot = document.createElement("span");
    dot.className = "scope-ext-dot";
    dot.style.background = STATUS_COLOR[node.status] || "#000";
    const label = document.createElement("span");
    label.className = "scope-ext-label";
    let text = `${node.id} ${node.status}`;
    if (node.strategy) text += `  ${node.strategy}  budget ${node.used}/${node.max} (${node.left} left)`;
    else if (node.capacity) text += `  mailbox ${node.mailbox}/${node.capacity}`;
    if (node.restarts) text += `  restarts ${node.restarts}`;
    if (node.started != null) text += `  up ${uptime(node.started)}`;
    label.textContent = text;
    line.append(toggle, dot, label);
    line.onclick = () => { selected = node.path; details = null; model.send({ t: "details", path: node.path }); draw(); };
    list.append(line);
    if (!collapsed.has(node.path)) for (const kid of kids) row(kid, depth + 1);
  }

  function action(name) {
    if (!selected) return;
    if (!window.confirm(`${name} ${selected}?`)) return;
    model.send({ t: "action", action: name, path: selected });
  }

  function drawDetails() {
    panel.replaceChildren();
    if (!selected || !nodes.has(selected)) return;
    const node = nodes.get(selected);
    const title = document.createElement("div");
    title.className = "scope-ext-details-title";
    title.textContent = `${node.id} (${node.kind}, ${node.status})`;
    panel.append(title);
    if (node.kind !== "namespace") {
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
      for (const ev of details.events) {
        const item = document.createElement("li");
        item.textContent = `#${ev.id} ${ev.type} ${JSON.stringify(ev.data)}`;
        events.append(item);
      }
      panel.append(pre, events);
    }
  }

  function draw() {
    list.replaceChildren();
    for (const root of children(null)) row(root, 0);
    drawDetails();
  }

  function onMessage(msg) {
    if (msg.t === "tree") {
      if (msg.reset) nodes.clear();
      for (const [path, node] of Object.entries(msg.set || {})) nodes.set(path, { ...node, path });
      for (const path of msg.del || []) nodes.delete(path);
      draw();
    } else if (msg.t === "details" && msg.path === selected) {
      details = msg;
      drawDetails();
    } else if (msg.t === "action") {
      const note = document.createElement("div");
      note.className = "scope-ext-note";
      note.textContent = msg.message;
      panel.append(note);
    }
  }

  model.on("msg:custom", onMessage);
  const observer = new IntersectionObserver((entries) => {
    model.send({ t: "visible", value: entries.some((e) => e.isIntersecting) });
  });
  observer.observe(el);
  const clock = setInterval(draw, 1000);  // uptimes tick here, not over the wire
  model.send({ t: "hello" });  // (re)connected: the kernel answers with the whole tree
  return () => { clearInterval(clock); observer.disconnect(); model.off("msg:custom", onMessage); };
}

export default { render };

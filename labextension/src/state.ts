/**
 * What the Scope sidebar knows about one kernel, and how the kernel's messages change it.
 *
 * The kernel's end is `scope_ext/notebook/_sidebar.py`: when the comm opens it sends everything
 * (`{t: "state", reset: true, ...}`), then only what changed, at most twice a second.
 */

/** The comm target the sidebar opens in the kernel. */
export const SIDEBAR_TARGET = 'scope_ext.sidebar';
/** The page's comm target a kernel opens when `%load_ext scope_ext` runs. */
export const ANNOUNCE_TARGET = 'scope_ext.announce';
/** Events the sidebar keeps (the kernel sends as many when the comm opens). */
export const SIDEBAR_EVENTS = 50;

/** One namespace: its status, process count, overall health and each registered service's. */
export interface INamespaceInfo {
  name: string;
  status: string;
  processes: number;
  health: string | null;
  services: [name: string, health: string, detail: string][];
}

/** One node of the supervision trees, keyed by its path (`namespace/child/...`). */
export interface INodeInfo {
  p: string | null;
  i: number;
  id: string;
  kind: string;
  status: string;
  /** Left out when 0, null, "ok" or false (the kernel sends only what says something). */
  restarts?: number;
  mailbox: number;
  capacity: number;
  error?: string | null;
  started?: number | null;
  strategy?: string;
  /** Restarts in the last minute, and the health they give (`ok`, `restarting`, `crashing`). */
  recent?: number;
  health?: string;
  /** The worst health among the nodes below this one. */
  below?: string;
}

/** id, time, namespace, type, severity, correlation, parent, source, data. */
export type EventRow = [
  number,
  number,
  string,
  string,
  string,
  string | null,
  number | null,
  string | null,
  string
];

/**
 * Where the connection is: no notebook/kernel, waiting for the kernel to answer, scope_ext not
 * loaded in the kernel, or connected.
 */
export type Phase = 'no-kernel' | 'connecting' | 'not-loaded' | 'connected';

export interface IScopeState {
  phase: Phase;
  runtime: string;
  paused: boolean;
  namespaces: INamespaceInfo[];
  nodes: Map<string, INodeInfo>;
  events: EventRow[];
}

/** A message from the kernel's sidebar feed. */
export type SidebarMessage =
  | {
      t: 'state';
      reset: boolean;
      runtime: string;
      paused: boolean;
      namespaces?: INamespaceInfo[];
      tree: { set: Record<string, INodeInfo>; del: string[] } | null;
      events: EventRow[];
    }
  | { t: 'paused'; value: boolean };

export function emptyState(phase: Phase): IScopeState {
  return { phase, runtime: 'unknown', paused: false, namespaces: [], nodes: new Map(), events: [] };
}

/** Apply one kernel message to `state` (in place); returns it. Unknown messages change nothing. */
export function applyMessage(state: IScopeState, msg: SidebarMessage): IScopeState {
  if (msg.t === 'paused') {
    state.paused = msg.value;
    return state;
  }
  if (msg.t !== 'state') {
    return state;
  }
  state.phase = 'connected';
  state.runtime = msg.runtime;
  state.paused = msg.paused;
  if (msg.reset) {
    state.nodes.clear();
    state.events = [];
    state.namespaces = [];
  }
  if (msg.namespaces) {
    state.namespaces = msg.namespaces;
  }
  if (msg.tree) {
    for (const [path, node] of Object.entries(msg.tree.set)) {
      state.nodes.set(path, node);
    }
    for (const path of msg.tree.del) {
      state.nodes.delete(path);
    }
  }
  if (msg.events.length) {
    state.events = state.events.concat(msg.events).slice(-SIDEBAR_EVENTS);
  }
  return state;
}

/** The services of a namespace in tree order, each with its depth below the namespace. */
export function servicesOf(
  state: IScopeState,
  namespace: string
): { path: string; node: INodeInfo; depth: number }[] {
  const byParent = new Map<string | null, [string, INodeInfo][]>();
  for (const [path, node] of state.nodes) {
    const kids = byParent.get(node.p) ?? [];
    kids.push([path, node]);
    byParent.set(node.p, kids);
  }
  const found: { path: string; node: INodeInfo; depth: number }[] = [];
  const walk = (parent: string, depth: number): void => {
    const kids = (byParent.get(parent) ?? []).sort((a, b) => a[1].i - b[1].i);
    for (const [path, node] of kids) {
      found.push({ path, node, depth });
      walk(path, depth + 1);
    }
  };
  walk(namespace, 0);
  return found;
}

/**
 * The "Scope" sidebar: the current notebook kernel's namespaces (with health), services (status,
 * restarts) and recent events, live, with the scope commands as buttons; a plain empty state
 * says what to do when there is no kernel or scope_ext is not loaded in it.
 */
import type { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { badness, belowMark, dotColor, statusText } from '../../scope_ext/notebook/static/views.js';

import type { ScopeConnection } from './connection';
import { INamespaceInfo, INodeInfo, IScopeState, servicesOf } from './state';

/** Command ids (registered in index.ts), in the order the sidebar shows their buttons. */
export const CommandIDs = {
  start: 'scope-ext:start-runtime',
  dashboard: 'scope-ext:open-dashboard',
  timeline: 'scope-ext:open-timeline',
  pause: 'scope-ext:toggle-pause',
  show: 'scope-ext:show-sidebar'
} as const;

const EMPTY: Record<IScopeState['phase'], string> = {
  'no-kernel': 'Open a notebook with a running kernel to see its scope_ext runtime.',
  connecting: 'Waiting for the kernel (it answers when the running cell ends)…',
  'not-loaded': 'scope_ext is not loaded in this kernel. Start the runtime here, or run %load_ext scope_ext.',
  connected: ''
};

export class ScopeSidebar extends Widget {
  constructor(commands: CommandRegistry) {
    super();
    this._commands = commands;
    this.id = 'scope-ext-sidebar';
    this.addClass('scope-ext-sidebar');
    this.title.caption = 'Scope: the kernel’s scope_ext runtime';
    commands.commandChanged.connect(() => this.update(), this);
  }

  /** The connection shown (the current notebook's kernel), or null. */
  get connection(): ScopeConnection | null {
    return this._connection;
  }

  set connection(connection: ScopeConnection | null) {
    this._connection?.changed.disconnect(this._onChanged, this);
    this._connection = connection;
    connection?.changed.connect(this._onChanged, this);
    connection?.setVisible(this.isVisible);
    this.update();
  }

  /** The notebook's name, shown in the header. */
  set label(label: string) {
    this._label = label;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    this._connection?.setVisible(true);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    this._connection?.setVisible(false);
  }

  protected onUpdateRequest(msg: Message): void {
    const state = this._connection?.state;
    const node = this.node;
    const header = element('div', 'scope-ext-sidebar-status', this._label || 'no notebook');
    const connected = !!state && state.phase === 'connected';
    if (!connected) {
      node.replaceChildren(header, this._actions());
      node.append(element('div', 'scope-ext-sidebar-empty', EMPTY[state?.phase ?? 'no-kernel']));
      this._lists.clear();
      return;
    }
    header.textContent += ` · runtime ${state.runtime}` + (state.paused ? ' · paused' : '');
    node.dataset.runtime = state.runtime;
    // The namespaces' lists stay in the DOM across updates (their scroll positions with them);
    // the rest is small and drawn again.
    const lists = element('div', 'scope-ext-sidebar-namespaces');
    if (!state.namespaces.length) {
      lists.append(element('div', 'scope-ext-sidebar-empty', 'The runtime is stopped.'));
    }
    const seen = new Set<string>();
    for (const ns of state.namespaces) {
      seen.add(ns.name);
      lists.append(this._namespace(ns, state).box);
    }
    for (const name of [...this._lists.keys()]) {
      if (!seen.has(name)) {
        this._lists.delete(name);
      }
    }
    const events = element('div', 'scope-ext-sidebar-events');
    if (!state.events.length) {
      events.append(element('div', 'scope-ext-sidebar-empty', 'No events yet.'));
    }
    for (const event of [...state.events].reverse()) {
      const [id, time, namespace, type, severity] = event;
      const service = event[7] ?? namespace; // the service it is about (or that stored it)
      const row = element('div', 'scope-ext-sidebar-event');
      row.append(
        element('span', 'scope-ext-sidebar-event-time', new Date(time * 1000).toLocaleTimeString()),
        element('span', 'scope-ext-sidebar-event-service', service),
        element('span', 'scope-ext-sidebar-event-type', type)
      );
      row.dataset.severity = severity;
      row.title = `#${id} ${type} from ${service} in ${namespace}: ${event[8]}`;
      events.append(row);
    }
    node.replaceChildren(header, this._actions(), element('h3', '', 'Namespaces'), lists,
      element('h3', '', 'Recent events'), events);
    for (const list of this._lists.values()) {
      list.paint(); // in the DOM again: its rows in sight
    }
  }

  /** A namespace's summary and its services, the unhealthy first, drawn only where in sight. */
  private _namespace(ns: INamespaceInfo, state: IScopeState): NamespaceList {
    let list = this._lists.get(ns.name);
    if (!list) {
      list = new NamespaceList(ns.name);
      this._lists.set(ns.name, list);
    }
    list.update(ns, state);
    return list;
  }

  private _actions(): HTMLElement {
    const bar = element('div', 'scope-ext-sidebar-actions');
    for (const id of [CommandIDs.start, CommandIDs.dashboard, CommandIDs.timeline, CommandIDs.pause]) {
      if (!this._commands.isVisible(id)) {
        continue;
      }
      const button = element('button', '', this._commands.label(id, { short: true })) as HTMLButtonElement;
      button.dataset.command = id;
      button.disabled = !this._commands.isEnabled(id);
      button.onclick = () => void this._commands.execute(id);
      bar.append(button);
    }
    return bar;
  }

  private _onChanged(): void {
    this.update();
    this._commands.notifyCommandChanged();
  }

  private _commands: CommandRegistry;
  private _connection: ScopeConnection | null = null;
  private _label = '';
  private _lists = new Map<string, NamespaceList>();
}

/** Rows of a namespace's service list (px): all alike, so only those in sight are drawn. */
const ROW = 36;
/** Rows a namespace's list shows before it scrolls. */
const ROWS_SHOWN = 10;
/** The tree's badness with every healthy state alike: the unhealthy first, the rest in tree order. */
function urgency(node: INodeInfo): number {
  return Math.min(badness(node), 3); // crash loop 0, restarting 1, down 2, anything else 3
}

/** One namespace in the sidebar: a summary line with counts, then a virtualised service list. */
class NamespaceList {
  constructor(name: string) {
    this.box = element('div', 'scope-ext-sidebar-namespace');
    this.line = element('div', 'scope-ext-sidebar-ns');
    this.line.dataset.namespace = name;
    this.counts = element('div', 'scope-ext-sidebar-counts');
    this.list = element('div', 'scope-ext-sidebar-list');
    this.body = element('div', 'scope-ext-sidebar-body');
    this.list.append(this.body);
    this.list.onscroll = () => this.paint();
    this.box.append(this.line, this.counts, this.list);
  }

  update(ns: INamespaceInfo, state: IScopeState): void {
    const rows = servicesOf(state, ns.name).map((row, i) => ({ ...row, i }));
    rows.sort((a, b) => urgency(a.node) - urgency(b.node) || a.i - b.i); // the unhealthy first, else tree order
    this.rows = rows;
    this.health = new Map(ns.services.map(([name, level, detail]) => [name, [level, detail]]));
    const counts = new Map<string, number>();
    for (const { node } of rows) {
      const key = node.health === 'crashing' ? 'crash-looping' : node.health === 'restarting' ? 'restarting' : node.status;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const services = `${rows.length} ${rows.length === 1 ? 'service' : 'services'}`;
    this.line.replaceChildren(`${ns.name} · ${ns.status} · ${services}`, badge(ns.health ?? 'unchecked', 'overall health'));
    this.line.title = `${ns.processes} processes`;
    this.counts.replaceChildren(
      ...[...counts].sort((a, b) => (COUNT_ORDER.indexOf(a[0]) >>> 0) - (COUNT_ORDER.indexOf(b[0]) >>> 0)).map(([key, n]) => {
        const count = element('span', 'scope-ext-sidebar-count', `${n} ${key}`);
        count.dataset.status = key;
        return count;
      })
    );
    this.list.style.height = `${Math.min(rows.length, ROWS_SHOWN) * ROW}px`;
    this.body.style.height = `${rows.length * ROW}px`;
    this.paint();
  }

  /** Draw the rows in sight (and a few around them); the others leave the DOM. */
  paint(): void {
    const first = Math.max(0, Math.floor(this.list.scrollTop / ROW) - 4);
    const last = Math.min(this.rows.length, first + ROWS_SHOWN + 8);
    const drawn: HTMLElement[] = [];
    for (let index = first; index < last; index++) {
      const { path, node: service, depth } = this.rows[index];
      const row = element('div', 'scope-ext-sidebar-service');
      row.dataset.path = path;
      row.dataset.status = service.status;
      row.dataset.health = service.health ?? 'ok';
      row.style.top = `${index * ROW}px`;
      const name = element('span', 'scope-ext-sidebar-name');
      name.style.paddingLeft = `${depth * 12}px`;
      row.style.setProperty('--depth', String(depth));
      name.title = path;
      const dot = element('span', 'scope-ext-dot');
      dot.style.background = dotColor(service);
      name.append(dot, service.id);
      const below = belowMark(service);
      if (below) {
        name.append(below);
      }
      const restarts = service.restarts ? ` · restarts ${service.restarts}` : '';
      const facts = element('span', 'scope-ext-sidebar-facts', `${statusText(service)}${restarts}`);
      row.append(name, facts);
      const checked = this.health.get(service.id);
      if (checked) {
        row.append(badge(checked[0], checked[1]));
      }
      drawn.push(row);
    }
    this.body.replaceChildren(...drawn);
  }

  readonly box: HTMLElement;
  private line: HTMLElement;
  private counts: HTMLElement;
  private list: HTMLElement;
  private body: HTMLElement;
  private rows: { path: string; node: INodeInfo; depth: number }[] = [];
  private health = new Map<string, string[]>();
}

const COUNT_ORDER = ['crash-looping', 'restarting', 'down', 'starting', 'stopping', 'running', 'stopped', 'dropped'];

function element(tag: string, className: string, text?: string): HTMLElement {
  const found = document.createElement(tag);
  if (className) {
    found.className = className;
  }
  if (text !== undefined) {
    found.textContent = text;
  }
  return found;
}

function badge(level: string, why: string): HTMLElement {
  const found = element('span', 'scope-ext-health', level);
  found.dataset.health = level;
  found.title = why;
  return found;
}

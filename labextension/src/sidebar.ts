/**
 * The "Scope" sidebar: the current notebook kernel's namespaces (with health), services (status,
 * restarts) and recent events, live, with the scope commands as buttons; a plain empty state
 * says what to do when there is no kernel or scope_ext is not loaded in it.
 */
import type { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { belowMark, dotColor } from '../../scope_ext/notebook/static/views.js';

import type { ScopeConnection } from './connection';
import { IScopeState, servicesOf } from './state';

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
    node.replaceChildren();
    const header = element('div', 'scope-ext-sidebar-status', this._label || 'no notebook');
    node.append(header, this._actions());
    if (!state || state.phase !== 'connected') {
      node.append(element('div', 'scope-ext-sidebar-empty', EMPTY[state?.phase ?? 'no-kernel']));
      return;
    }
    header.textContent += ` · runtime ${state.runtime}` + (state.paused ? ' · paused' : '');
    node.dataset.runtime = state.runtime;
    node.append(element('h3', '', 'Namespaces'));
    if (!state.namespaces.length) {
      node.append(element('div', 'scope-ext-sidebar-empty', 'The runtime is stopped.'));
    }
    for (const ns of state.namespaces) {
      const health = new Map(ns.services.map(([name, level, detail]) => [name, [level, detail]]));
      const line = element('div', 'scope-ext-sidebar-ns', `${ns.name} · ${ns.status} · ${ns.processes} processes`);
      line.dataset.namespace = ns.name;
      line.append(badge(ns.health ?? 'unchecked', 'overall health'));
      node.append(line);
      for (const { path, node: service, depth } of servicesOf(state, ns.name)) {
        const row = element('div', 'scope-ext-sidebar-service');
        row.dataset.path = path;
        row.dataset.status = service.status;
        row.dataset.health = service.health ?? 'ok';
        row.style.paddingLeft = `${8 + depth * 12}px`;
        const dot = element('span', 'scope-ext-dot');
        dot.style.background = dotColor(service);
        const restarts = service.restarts ? ` · restarts ${service.restarts}` : '';
        row.append(dot, `${service.id} ${service.status}${restarts}`);
        const below = belowMark(service);
        if (below) {
          row.append(below);
        }
        const checked = health.get(service.id);
        if (checked) {
          row.append(badge(checked[0], checked[1]));
        }
        node.append(row);
      }
    }
    node.append(element('h3', '', 'Recent events'));
    if (!state.events.length) {
      node.append(element('div', 'scope-ext-sidebar-empty', 'No events yet.'));
    }
    for (const event of [...state.events].reverse()) {
      const [id, time, namespace, type, severity] = event;
      const service = event[7] ?? namespace;  // the service it is about (or that stored it)
      const row = element(
        'div',
        'scope-ext-sidebar-event',
        `${new Date(time * 1000).toLocaleTimeString()} ${service} · ${type}`
      );
      row.dataset.severity = severity;
      row.title = `#${id} in ${namespace}: ${event[8]}`;
      node.append(row);
    }
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
}

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

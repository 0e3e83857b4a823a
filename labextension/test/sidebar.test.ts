import { CommandRegistry } from '@lumino/commands';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { describe, expect, it } from 'vitest';

import { ScopeConnection } from '../src/connection';
import { CommandIDs, ScopeSidebar } from '../src/sidebar';
import { ANNOUNCE_TARGET, SIDEBAR_TARGET } from '../src/state';

/** A kernel connection with what ScopeConnection uses: comms and comm targets. */
class FakeKernel {
  isDisposed = false;
  comms: FakeComm[] = [];
  targets = new Map<string, (comm: any, msg: any) => void>();
  createComm(target: string): FakeComm {
    const comm = new FakeComm(target);
    this.comms.push(comm);
    return comm;
  }
  registerCommTarget(target: string, callback: (comm: any, msg: any) => void): void {
    this.targets.set(target, callback);
  }
  removeCommTarget(target: string): void {
    this.targets.delete(target);
  }
}

class FakeComm {
  constructor(readonly targetName: string) {}
  isDisposed = false;
  opened = false;
  closed = false;
  sent: unknown[] = [];
  onMsg: (msg: any) => void = () => {};
  onClose: (msg: any) => void = () => {};
  open(): void { this.opened = true; }
  send(data: unknown): void { this.sent.push(data); }
  close(): void { this.closed = true; }
  /** What the kernel sends. */
  receive(data: unknown): void { this.onMsg({ content: { data } }); }
}

const STATE = {
  t: 'state', reset: true, runtime: 'running', paused: false,
  namespaces: [{ name: 'production', status: 'running', processes: 3, health: 'degraded',
    services: [['events', 'degraded', 'mailbox 950/1000']] }],
  tree: { del: [], set: {
    production: { p: null, i: 0, id: 'production', kind: 'namespace', status: 'running', restarts: 0 },
    'production/foundation': { p: 'production', i: 0, id: 'foundation', kind: 'supervisor', status: 'running', restarts: 0 },
    'production/foundation/events': { p: 'production/foundation', i: 0, id: 'events', kind: 'worker', status: 'running', restarts: 2 }
  } },
  events: [[1, 10, 'production', 'scope.process.crashed', 'error', null, null, 'flaky', '"boom"'],
           [2, 11, 'production', 'app.tick', 'info', null, null, null, '{}']]
};

describe('ScopeConnection', () => {
  it('opens the sidebar comm; a kernel without scope_ext closes it; an announcement reopens it', () => {
    const kernel = new FakeKernel();
    const connection = new ScopeConnection(kernel as any);
    expect(connection.state.phase).toBe('connecting');
    const [first] = kernel.comms;
    expect(first.targetName).toBe(SIDEBAR_TARGET);
    expect(first.opened).toBe(true);
    first.onClose({}); // no target in the kernel
    expect(connection.state.phase).toBe('not-loaded');

    const announcement = new FakeComm(ANNOUNCE_TARGET);
    kernel.targets.get(ANNOUNCE_TARGET)!(announcement, {}); // %load_ext scope_ext ran
    expect(announcement.closed).toBe(true);
    const second = kernel.comms[1];
    second.receive(STATE);
    expect(connection.state.phase).toBe('connected');
    expect(connection.state.nodes.size).toBe(3);

    connection.setPaused(true);
    connection.setVisible(false);
    expect(second.sent).toEqual([{ t: 'pause', value: true }, { t: 'visible', value: false }]);
    connection.dispose();
    expect(second.closed).toBe(true);
    expect(kernel.targets.has(ANNOUNCE_TARGET)).toBe(false);
  });

  it('has nothing to open without a kernel', () => {
    expect(new ScopeConnection(null).state.phase).toBe('no-kernel');
  });
});

describe('ScopeSidebar', () => {
  function setup(): { sidebar: ScopeSidebar; commands: CommandRegistry; ran: string[] } {
    const commands = new CommandRegistry();
    const ran: string[] = [];
    for (const id of [CommandIDs.start, CommandIDs.dashboard, CommandIDs.timeline, CommandIDs.pause]) {
      commands.addCommand(id, { label: `label ${id}`, isEnabled: () => id !== CommandIDs.timeline,
        execute: () => { ran.push(id); } });
    }
    const sidebar = new ScopeSidebar(commands);
    Widget.attach(sidebar, document.body);
    return { sidebar, commands, ran };
  }
  const draw = (sidebar: ScopeSidebar) => MessageLoop.sendMessage(sidebar, Widget.Msg.UpdateRequest);

  it('says what to do when scope_ext is not loaded, and runs commands from its buttons', () => {
    const { sidebar, ran } = setup();
    const kernel = new FakeKernel();
    sidebar.connection = new ScopeConnection(kernel as any);
    sidebar.label = 'live.ipynb';
    kernel.comms[0].onClose({});
    draw(sidebar);
    expect(sidebar.node.querySelector('.scope-ext-sidebar-empty')!.textContent).toContain(
      'scope_ext is not loaded in this kernel'
    );
    const buttons = [...sidebar.node.querySelectorAll<HTMLButtonElement>('button')];
    expect(buttons.map(b => [b.dataset.command, b.disabled])).toEqual([
      [CommandIDs.start, false], [CommandIDs.dashboard, false], [CommandIDs.timeline, true], [CommandIDs.pause, false]
    ]);
    buttons[0].click();
    expect(ran).toEqual([CommandIDs.start]);
    sidebar.dispose();
  });

  it('shows namespaces with health, services in tree order, and events newest first', () => {
    const { sidebar } = setup();
    const kernel = new FakeKernel();
    sidebar.connection = new ScopeConnection(kernel as any);
    sidebar.label = 'live.ipynb';
    kernel.comms[0].receive(STATE);
    draw(sidebar);
    expect(sidebar.node.querySelector('.scope-ext-sidebar-status')!.textContent).toBe('live.ipynb · runtime running');
    const ns = sidebar.node.querySelector<HTMLElement>('.scope-ext-sidebar-ns')!;
    expect(ns.textContent).toBe('production · running · 2 servicesdegraded');
    expect(sidebar.node.querySelector('.scope-ext-sidebar-counts')!.textContent).toBe('2 running');
    const services = [...sidebar.node.querySelectorAll<HTMLElement>('.scope-ext-sidebar-service')];
    const indent = (s: HTMLElement) => s.querySelector<HTMLElement>('.scope-ext-sidebar-name')!.style.paddingLeft;
    expect(services.map(s => [s.dataset.path, indent(s)])).toEqual([
      ['production/foundation', '0px'], ['production/foundation/events', '12px']
    ]);
    const badge = services[1].querySelector<HTMLElement>('.scope-ext-health')!;
    expect([badge.textContent, badge.title]).toEqual(['degraded', 'mailbox 950/1000']);
    expect(services[1].textContent).toContain('restarts 2');
    const events = [...sidebar.node.querySelectorAll<HTMLElement>('.scope-ext-sidebar-event')];
    expect(events.map(e => e.dataset.severity)).toEqual(['info', 'error']);
    // each names its service (the event's source), else its namespace
    const parts = (e: HTMLElement) => [...e.children].slice(1).map(c => c.textContent);
    expect(events.map(parts)).toEqual([['production', 'app.tick'], ['flaky', 'scope.process.crashed']]);

    kernel.comms[0].receive({ t: 'paused', value: true });
    draw(sidebar);
    expect(sidebar.node.querySelector('.scope-ext-sidebar-status')!.textContent).toContain('paused');
    sidebar.dispose();
  });

  it('puts the unhealthy first, counts each state, and draws only the rows in sight of 10,000', () => {
    const { sidebar } = setup();
    const kernel = new FakeKernel();
    sidebar.connection = new ScopeConnection(kernel as any);
    const set: Record<string, object> = {
      production: { p: null, i: 0, id: 'production', kind: 'supervisor', status: 'running', restarts: 0 }
    };
    for (let i = 0; i < 10000; i++) {
      const crashing = i === 9000;
      set[`production/w${i}`] = { p: 'production', i, id: `w${i}`, kind: 'worker', status: i === 5000 ? 'down' : 'running',
        restarts: crashing ? 50 : 0, health: crashing ? 'crashing' : 'ok' };
    }
    kernel.comms[0].receive({ ...STATE, namespaces: [{ ...STATE.namespaces[0], services: [] }], tree: { del: [], set }, events: [] });
    draw(sidebar);
    const rows = [...sidebar.node.querySelectorAll<HTMLElement>('.scope-ext-sidebar-service')];
    expect(rows.length).toBeLessThan(40);
    expect(rows.slice(0, 2).map(r => r.dataset.path)).toEqual(['production/w9000', 'production/w5000']);
    expect(rows[0].querySelector('.scope-ext-sidebar-facts')!.textContent).toBe('crash loop · restarts 50');
    const counts = [...sidebar.node.querySelectorAll('.scope-ext-sidebar-count')].map(c => c.textContent);
    expect(counts).toEqual(['1 crash-looping', '1 down', '9998 running']);
    sidebar.dispose();
  });

  it('tells the kernel when it is hidden or shown', () => {
    const { sidebar } = setup();
    const kernel = new FakeKernel();
    sidebar.connection = new ScopeConnection(kernel as any);
    sidebar.hide();
    sidebar.show();
    expect(kernel.comms[0].sent.slice(-2)).toEqual([{ t: 'visible', value: false }, { t: 'visible', value: true }]);
    sidebar.dispose();
  });
});

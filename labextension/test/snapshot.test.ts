import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';
import { describe, expect, it, vi } from 'vitest';

import liveViews, { renderSnapshot, snapshotHTML } from '../../scope_ext/notebook/static/views.js';
import { SNAPSHOT_MIME, SnapshotRenderer, storeLastStates, WIDGET_VIEW_MIME } from '../src/snapshot';

const node = (p: string | null, i: number, id: string, restarts = 0) => ({
  p, i, id, kind: p === null ? 'namespace' : 'worker', status: 'running', restarts, mailbox: 0, capacity: 10,
  error: restarts ? 'RuntimeError: crash' : null, started: 1000
});
const treeSnapshot = (restarts: number) => ({
  v: 1, kind: 'tree', at: 1060, traits: {},
  batch: { t: 'tree', reset: true, del: [], set: { production: node(null, 0, 'production'),
    'production/flaky': node('production', 0, 'flaky', restarts) } }
});

function mimeModel(data: Record<string, unknown>, trusted = true): IRenderMime.IMimeModel & { setData: any } {
  const model: any = { data, trusted, metadata: {}, setData: vi.fn((options: any) => { model.data = options.data; }) };
  return model;
}

const options = { mimeType: SNAPSHOT_MIME } as unknown as IRenderMime.IRendererOptions;

/** A stand-in for ipywidgets' renderer: `found` says whether the model exists in the page; one
 * live view per snapshot function (a dashboard has several). */
function widgetFactory(found: boolean, ...liveSnapshots: (() => unknown)[]): IRenderMime.IRendererFactory {
  return {
    safe: false, mimeTypes: [WIDGET_VIEW_MIME],
    createRenderer: () => {
      const renderer = new Panel() as Panel & IRenderMime.IRenderer;
      renderer.renderModel = async () => {
        if (!found) {
          renderer.node.textContent = 'Error displaying widget: model not found';
          renderer.addClass('jupyter-widgets'); // as ipywidgets marks it
          return;
        }
        for (const liveSnapshot of liveSnapshots.length ? liveSnapshots : [undefined]) {
          const view = new Widget();
          view.node.dataset.scopeKind = 'tree';
          (view.node as any).scopeSnapshot = liveSnapshot;
          renderer.addWidget(view);
        }
      };
      return renderer;
    }
  };
}

// A person's press on a row: rows select on pointerdown, so a row that moves keeps the click.
const press = (target: Element) => target.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, button: 0 }));
const restartsOf = (el: Element) =>
  el.querySelector(".scope-ext-node[data-path='production/flaky'] .scope-ext-col-restarts")!.textContent;

describe('renderSnapshot (views.js)', () => {
  it('draws a tree snapshot with uptimes as of when it was taken', () => {
    const el = document.createElement('div');
    renderSnapshot(treeSnapshot(3), el);
    const flaky = el.querySelector<HTMLElement>(".scope-ext-node[data-path='production/flaky']")!;
    expect(flaky.querySelector('.scope-ext-col-restarts')!.textContent).toBe('3');
    expect(flaky.querySelector('.scope-ext-col-uptime')!.textContent).toBe('1m00s');
    press(flaky); // a snapshot's details: the last error, and no restart / terminate buttons
    expect(el.querySelector('.scope-ext-exception')!.textContent).toBe('RuntimeError: crash');
    expect(el.querySelector('.scope-ext-restart')).toBeNull();
  });

  it('says what is wrong with a snapshot it cannot read', () => {
    const el = document.createElement('div');
    expect(() => renderSnapshot({ v: 99, kind: 'tree' }, el)).toThrow(/version 99/);
    expect(() => renderSnapshot({ v: 1, kind: 'pie' }, el)).toThrow(/unknown snapshot kind "pie"; known: tree/);
    expect(() => renderSnapshot(null, el)).toThrow(/must be an object/);
  });

  it('draws a dashboard as tabs with one page in sight', () => {
    const el = document.createElement('div');
    const timeline = { v: 1, kind: 'timeline', at: 1, traits: {}, batch: { t: 'events', reset: true,
      items: [[1, 1, 'production', 'scope.process.crashed', 'error', null, null, null, '{}']] } };
    const telemetry = { v: 1, kind: 'telemetry', at: 1, traits: {}, batch: { t: 'metrics', reset: true,
      metrics: { 'production: x': { kind: 'counter', summary: [3, 3, null, null, null], points: [[1, 1], [2, 3]] } } } };
    renderSnapshot({ v: 1, kind: 'dashboard', at: 1, views: [treeSnapshot(0), timeline, telemetry] }, el);
    const pages = [...el.querySelectorAll<HTMLElement>('.scope-ext-page')];
    expect(pages.map(page => page.hidden)).toEqual([false, true, true]);
    el.querySelectorAll<HTMLButtonElement>('.scope-ext-tabs button')[1].click();
    expect(pages.map(page => page.hidden)).toEqual([true, false, true]);
    expect(el.querySelector('.scope-ext-event')!.textContent).toContain('scope.process.crashed');
    expect(el.querySelector('.scope-ext-chart')!.getAttribute('data-metric')).toBe('production: x');
  });

  it('a live view’s snapshot draws the same tree', async () => {
    const listeners: ((msg: unknown) => void)[] = [];
    const model = {
      get: (name: string) => ({ kind: 'tree', ring: 100 } as Record<string, unknown>)[name],
      on: (_: string, listener: (msg: unknown) => void) => listeners.push(listener),
      send: vi.fn()
    };
    const widget = (liveViews as any)();
    widget.initialize({ model });
    const live = document.createElement('div');
    const dispose = widget.render({ model, el: live });
    expect((live as any).scopeSnapshot()).toBeNull(); // nothing received yet: nothing to save
    listeners.forEach(listener => listener(treeSnapshot(7).batch));
    expect(model.send).toHaveBeenCalledWith({ t: 'hello', fresh: true });
    const saved = (live as any).scopeSnapshot();
    expect(live.dataset.scopeKind).toBe('tree');
    const copy = document.createElement('div');
    renderSnapshot(saved, copy);
    const rows = (el: HTMLElement) => [...el.querySelectorAll('.scope-ext-node')].map(n => n.getAttribute('data-path'));
    expect(rows(copy)).toEqual(rows(live));
    expect(copy.querySelector(".scope-ext-node[data-path='production/flaky'] .scope-ext-col-restarts")!.textContent).toBe('7');
    dispose();
  });
});

describe('snapshotHTML (views.js)', () => {
  it('writes a tree as indented lines with inline colours, escaped', () => {
    const snapshot = treeSnapshot(3);
    (snapshot.batch.set as any)['production/<b>'] = node('production', 1, '<b>');
    const html = snapshotHTML(snapshot);
    expect(html).toContain('scope_ext tree snapshot of 1970-01-01 00:17:40 UTC');
    expect(html).toContain('<span style="color:#2e7d32">●</span> flaky running  mailbox 0/10  restarts 3  up 1m00s');
    expect(html).toContain('\n  <span style="color:#2e7d32">●</span> &lt;b&gt; running');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('class=');  // inline styles only: no stylesheet where it is read
  });

  it('writes a dashboard as its views under headings, the timeline’s newest 50 events', () => {
    const items = Array.from({ length: 60 }, (_, i) => [i, i, 'production', 'tick', i % 2 ? 'error' : 'info', null, null, null, '{}']);
    const timeline = { v: 1, kind: 'timeline', at: 1, traits: {}, batch: { t: 'events', reset: true, items } };
    const html = snapshotHTML({ v: 1, kind: 'dashboard', at: 1, views: [treeSnapshot(0), timeline] });
    expect(html.match(/<h4[^>]*>([a-z]+)<\/h4>/g)!.map(h => h.replace(/<[^>]+>/g, ''))).toEqual(['supervision', 'events']);
    expect(html).toContain('60 events, the last 50');
    expect((html.match(/<tr><td>/g) || []).length).toBe(50);
    expect(html).toContain('<td>59</td>');
    expect(html).not.toContain('<td>9</td>');
    expect(() => snapshotHTML({ v: 1, kind: 'dashboard', at: 1, views: [{ v: 1, kind: 'pie' }] })).toThrow(/unknown/);
  });
});

describe('SnapshotRenderer', () => {
  it('shows the live widget when its model exists, and stores its state on save', async () => {
    const fresh = treeSnapshot(9);
    const renderer = new SnapshotRenderer(options, () => widgetFactory(true, () => fresh));
    Widget.attach(renderer, document.body);
    const model = mimeModel({ [SNAPSHOT_MIME]: treeSnapshot(1), [WIDGET_VIEW_MIME]: { model_id: 'm1' } });
    await renderer.renderModel(model);
    expect(renderer.isLive).toBe(true);
    expect(renderer.node.querySelector('.scope-ext-snapshot')).toBeNull(); // the snapshot is gone
    expect(storeLastStates(document.body)).toBe(1);
    expect(model.setData).toHaveBeenCalledTimes(1);
    expect(model.data[SNAPSHOT_MIME]).toBe(fresh);
    expect(model.data['text/html']).toBe(snapshotHTML(fresh)); // viewers without the extension see it too
    await renderer.renderModel(model); // what setData leads to: nothing changes on screen
    expect(renderer.isLive).toBe(true);
    renderer.dispose();
    expect(storeLastStates(document.body)).toBe(0);
  });

  it('keeps the kernel’s snapshot of a view that has received nothing (a dashboard tab never shown)', async () => {
    const shown = treeSnapshot(9);
    const dashboard = (views: unknown[]) => ({ v: 1, kind: 'dashboard', at: 1, views });
    const renderer = new SnapshotRenderer(options, () => widgetFactory(true, () => shown, () => null));
    Widget.attach(renderer, document.body);
    const model = mimeModel({
      [SNAPSHOT_MIME]: dashboard([treeSnapshot(1), treeSnapshot(2)]), [WIDGET_VIEW_MIME]: { model_id: 'm2' }
    });
    await renderer.renderModel(model);
    expect(storeLastStates(document.body)).toBe(1);
    const saved = model.data[SNAPSHOT_MIME] as any;
    expect(saved.views).toEqual([shown, treeSnapshot(2)]); // the fresh tree, the kernel's second view
    renderer.dispose();

    const single = new SnapshotRenderer(options, () => widgetFactory(true, () => null));
    Widget.attach(single, document.body);
    const one = mimeModel({ [SNAPSHOT_MIME]: treeSnapshot(3), [WIDGET_VIEW_MIME]: { model_id: 'm3' } });
    await single.renderModel(one);
    expect(storeLastStates(document.body)).toBe(0); // nothing newer than what the kernel wrote
    expect(one.data[SNAPSHOT_MIME]).toEqual(treeSnapshot(3));
    single.dispose();
  });

  it('keeps the snapshot when the live model is gone (a reopened notebook)', async () => {
    const renderer = new SnapshotRenderer(options, () => widgetFactory(false));
    Widget.attach(renderer, document.body);
    await renderer.renderModel(mimeModel({ [SNAPSHOT_MIME]: treeSnapshot(4), [WIDGET_VIEW_MIME]: { model_id: 'gone' } }));
    expect(renderer.isLive).toBe(false);
    expect(renderer.node.querySelector('.scope-ext-snapshot-note')!.textContent).toMatch(/^saved snapshot of /);
    expect(restartsOf(renderer.node)).toBe('4');
    expect(renderer.node.textContent).not.toContain('model not found'); // the hidden renderer is gone
    expect(storeLastStates(document.body)).toBe(0);
    renderer.dispose();
  });

  it('in a notebook, looks for the live widget once the kernel session is ready (a reloaded page)', async () => {
    let ready!: () => void;
    const session = new Promise<void>(resolve => (ready = resolve));
    const lookup = vi.fn(() => widgetFactory(true));
    const renderer = new SnapshotRenderer(options, lookup, session);
    Widget.attach(renderer, document.body);
    await renderer.renderModel(mimeModel({ [SNAPSHOT_MIME]: treeSnapshot(5), [WIDGET_VIEW_MIME]: { model_id: 'm5' } }));
    expect(lookup).not.toHaveBeenCalled(); // ipywidgets' manager is not in the registry yet
    expect(restartsOf(renderer.node)).toBe('5');
    ready();
    await new Promise(resolve => setTimeout(resolve, 10));
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(renderer.isLive).toBe(true);
    renderer.dispose();
  });

  it('never runs the live widget for an untrusted output', async () => {
    const lookup = vi.fn(() => widgetFactory(true));
    const renderer = new SnapshotRenderer(options, lookup);
    await renderer.renderModel(mimeModel({ [SNAPSHOT_MIME]: treeSnapshot(2), [WIDGET_VIEW_MIME]: { model_id: 'm' } }, false));
    expect(lookup).not.toHaveBeenCalled();
    expect(restartsOf(renderer.node)).toBe('2');
  });

  it('shows a clear line for a snapshot it cannot read', async () => {
    const renderer = new SnapshotRenderer(options, () => undefined);
    await renderer.renderModel(mimeModel({ [SNAPSHOT_MIME]: { v: 2, kind: 'tree' } }));
    expect(renderer.node.querySelector('.scope-ext-snapshot-error')!.textContent).toBe(
      'This scope_ext snapshot cannot be shown: snapshot version 2 is not one this version reads (1)'
    );
  });
});

import { describe, expect, it, vi } from 'vitest';

import liveViews, {
  actionsFor,
  exceptionLine,
  formatValue,
  groupRuns,
  percentileSeries,
  rates,
  unitOf
} from '../../scope_ext/notebook/static/views.js';

// A live view driven as the kernel drives it: batches in through the model, requests out.
function live(kind: string) {
  const listeners: ((msg: unknown) => void)[] = [];
  const model = {
    model_id: `${kind}-${Math.random()}`,
    get: (name: string) => ({ kind, ring: 100000 } as Record<string, unknown>)[name],
    on: (_: string, listener: (msg: unknown) => void) => listeners.push(listener),
    send: vi.fn()
  };
  const widget = (liveViews as any)();
  widget.initialize({ model });
  const el = document.createElement('div');
  document.body.append(el);
  const dispose = widget.render({ model, el });
  const feed = (msg: unknown) => listeners.forEach(listener => listener(msg));
  return { el, model, feed, dispose };
}

const press = (target: Element) => target.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, button: 0 }));
const worker = (p: string, i: number, id: string, extra: object = {}) => ({
  p, i, id, kind: 'worker', status: 'running', restarts: 0, mailbox: 0, capacity: 10, error: null,
  started: 1000, recent: 0, health: 'ok', below: 'ok', ...extra
});
const sup = (p: string | null, i: number, id: string, extra: object = {}) => ({
  ...worker(p as string, i, id), kind: 'supervisor', strategy: 'one_for_one', used: 0, max: 3, left: 3,
  dynamic: false, capacity: 0, ...extra
});

describe('tree view', () => {
  it('draws only the rows in sight of 10,000 services, and collapses a large group with its count', () => {
    const { el, feed, dispose } = live('tree');
    const set: Record<string, object> = { production: sup(null, 0, 'production'), 'production/pool': sup('production', 0, 'pool') };
    for (let i = 0; i < 10000; i++) set[`production/pool/w${i}`] = worker('production/pool', i, `w${i}`);
    feed({ t: 'tree', reset: true, set, del: [] });
    expect(el.querySelector('.scope-ext-count')!.textContent).toBe('10002 nodes');
    const pool = el.querySelector(".scope-ext-node[data-path='production/pool']")!;
    expect(pool.querySelector('.scope-ext-group-size')!.textContent).toBe(' 10000');
    expect(el.querySelectorAll('.scope-ext-node').length).toBe(2); // collapsed: too large to open by itself
    press(pool.querySelector('.scope-ext-toggle')!);
    const drawn = el.querySelectorAll('.scope-ext-node').length;
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(80); // virtualised: not 10,002 elements
    dispose();
  });

  it('sorts siblings by a column, both ways, and back to tree order', () => {
    const { el, feed, dispose } = live('tree');
    feed({ t: 'tree', reset: true, del: [], set: {
      production: sup(null, 0, 'production'),
      'production/a': worker('production', 0, 'a', { restarts: 1 }),
      'production/b': worker('production', 1, 'b', { restarts: 9, recent: 9, health: 'crashing' }),
      'production/c': worker('production', 2, 'c', { restarts: 4 })
    } });
    const order = () => [...el.querySelectorAll<HTMLElement>('.scope-ext-node')]
      .sort((x, y) => parseInt(x.style.top) - parseInt(y.style.top)).map(n => n.dataset.path);
    const head = (key: string) => el.querySelector<HTMLElement>(`.scope-ext-tree-header [data-sort='${key}']`)!;
    head('restarts').click();
    expect(order()).toEqual(['production', 'production/b', 'production/c', 'production/a']);
    expect(head('restarts').dataset.dir).toBe('asc');
    head('restarts').click();
    expect(order()).toEqual(['production', 'production/a', 'production/c', 'production/b']);
    head('restarts').click();
    expect(order()).toEqual(['production', 'production/a', 'production/b', 'production/c']);
    head('status').click(); // worst first: the crash loop
    expect(order()[1]).toBe('production/b');
    expect(el.querySelector(".scope-ext-node[data-path='production/b'] .scope-ext-col-status")!.textContent).toBe('crash loop');
    dispose();
  });

  it('confirms an action in the view, saying what stops, and keeps the result until dismissed', () => {
    const { el, model, feed, dispose } = live('tree');
    feed({ t: 'tree', reset: true, del: [], set: {
      production: sup(null, 0, 'production'),
      'production/pay': sup('production', 0, 'pay', { strategy: 'one_for_all' }),
      'production/pay/db': worker('production/pay', 0, 'db'),
      'production/pay/api': worker('production/pay', 1, 'api'),
      'production/other': worker('production', 1, 'other')
    } });
    press(el.querySelector(".scope-ext-node[data-path='production/pay']")!);
    expect(model.send).toHaveBeenCalledWith({ t: 'details', path: 'production/pay' });
    el.querySelector<HTMLButtonElement>('.scope-ext-actions .scope-ext-restart')!.click();
    const says = el.querySelector('.scope-ext-confirm')!.textContent!;
    expect(says).toContain('Stops pay and the 2 services below it (db, api)');
    expect(says).toContain("production's other children keep running");
    expect(model.send).not.toHaveBeenCalledWith(expect.objectContaining({ t: 'action' }));
    el.querySelector<HTMLButtonElement>('.scope-ext-confirm-yes')!.click();
    expect(model.send).toHaveBeenCalledWith({ t: 'action', action: 'restart', path: 'production/pay' });
    feed({ t: 'action', path: 'production/pay', action: 'restart', ok: true, message: 'production/pay: restart done' });
    feed({ t: 'tree', set: { 'production/pay/db': worker('production/pay', 0, 'db', { restarts: 1 }) }, del: [] });
    const note = () => el.querySelector<HTMLElement>('.scope-ext-notes .scope-ext-note');
    expect(note()!.textContent).toContain('production/pay: restart done');
    expect(note()!.dataset.ok).toBe('true');
    note()!.querySelector<HTMLButtonElement>('.scope-ext-dismiss')!.click();
    expect(note()).toBeNull();
    dispose();
  });

  it('shows the exception line first and marks the user’s frames apart from scope_ext’s', () => {
    const { el, feed, dispose } = live('tree');
    feed({ t: 'tree', reset: true, del: [], set: { production: sup(null, 0, 'production'),
      'production/w': worker('production', 0, 'w', { error: 'ValueError: bad' }) } });
    press(el.querySelector(".scope-ext-node[data-path='production/w']")!);
    const traceback = 'Traceback (most recent call last):\n' +
      '  File "/site/scope_ext/runtime/_process.py", line 10, in run\n    await handler()\n' +
      '  File "/home/me/job.py", line 3, in handle\n    raise ValueError("bad")\nValueError: bad\n';
    feed({ t: 'details', path: 'production/w', error: 'ValueError: bad', traceback, events: [{ id: 4, type: 'x', data: { a: 1 } }], note: null });
    const body = el.querySelector('.scope-ext-details-body')!;
    expect(body.firstElementChild!.className).toBe('scope-ext-exception');
    expect(body.firstElementChild!.textContent).toBe('ValueError: bad');
    expect([...el.querySelectorAll('.scope-ext-frame-user')].map(s => s.textContent!.trim())).toEqual(
      ['File "/home/me/job.py", line 3, in handle', 'raise ValueError("bad")']);
    expect(el.querySelectorAll('.scope-ext-frame-internal').length).toBe(2);
    expect(el.querySelector('.scope-ext-event-data')!.textContent).toBe('{"a":1}');
    dispose();
  });
});

describe('a reloaded page', () => {
  it('ignores changes that arrive before its view says hello, and asks for everything', () => {
    const listeners: ((msg: unknown) => void)[] = [];
    const model = { model_id: 'reloaded', get: (name: string) => ({ kind: 'tree', ring: 100 } as any)[name],
      on: (_: string, listener: (msg: unknown) => void) => listeners.push(listener), send: vi.fn() };
    const widget = (liveViews as any)();
    widget.initialize({ model });
    // the kernel still sends this model's changes (the old page saw it) before the new view renders
    listeners.forEach(l => l({ t: 'tree', set: { 'production/w': worker('production', 0, 'w', { restarts: 3 }) }, del: [] }));
    const el = document.createElement('div');
    const dispose = widget.render({ model, el });
    expect(model.send).toHaveBeenCalledWith({ t: 'hello', fresh: true });
    expect(el.querySelectorAll('.scope-ext-node').length).toBe(0);
    listeners.forEach(l => l({ t: 'tree', reset: true, del: [], set: { production: sup(null, 0, 'production'),
      'production/w': worker('production', 0, 'w', { restarts: 3 }) } }));
    expect(el.querySelectorAll('.scope-ext-node').length).toBe(2);
    dispose();
  });
});

describe('what the tree offers', () => {
  const pool = sup(null, 0, 'jobs', { dynamic: true });
  it('offers only terminate under a dynamic supervisor, nothing for a namespace, start for a stopped child', () => {
    expect(actionsFor(worker('jobs', 0, 'j1'), pool, []).map((a: any) => a.action)).toEqual(['terminate']);
    expect(actionsFor(sup(null, 0, 'production'), null, [])).toEqual([]);
    const stopped = actionsFor(worker('production', 0, 'w', { status: 'stopped' }), sup(null, 0, 'production'), []);
    expect(stopped.map((a: any) => a.label)).toEqual(['start']);
  });
  it('finds the exception line of a traceback, or falls back to the error', () => {
    expect(exceptionLine('Traceback\n  File "x"\nKeyError: 1\n\n', 'e')).toBe('KeyError: 1');
    expect(exceptionLine(null, 'RuntimeError: x')).toBe('RuntimeError: x');
  });
});

describe('timeline view', () => {
  const event = (id: number, type: string, source = 'svc') => [id, 1000 + id, 'production', type, 'error', null, null, source, '{}'];
  it('groups consecutive alike events as one row with a count, opened on click', () => {
    expect(groupRuns([event(1, 'a'), event(2, 'a'), event(3, 'b'), event(4, 'a', 'other')])).toEqual([[0, 2], [2, 1], [3, 1]]);
    const withData = (id: number, data: string) => Object.assign(event(id, 'a'), { 8: data });
    expect(groupRuns([withData(1, '{"pid": 1, "n": 0.5}'), withData(2, '{"pid": 22, "n": 7}'), withData(3, '{"pid": 3, "error": "x"}')]))
      .toEqual([[0, 2], [2, 1]]); // alike up to their numbers only
    const { el, feed, dispose } = live('timeline');
    feed({ t: 'events', reset: true, items: [...Array.from({ length: 50 }, (_, i) => event(i + 1, 'scope.process.crashed')), event(51, 'done')] });
    const rows = () => [...el.querySelectorAll<HTMLElement>('.scope-ext-event')];
    expect(rows().length).toBe(2);
    expect(rows()[0].dataset.repeat).toBe('50');
    expect(rows()[0].textContent).toContain('×50');
    rows()[0].querySelector<HTMLElement>('.scope-ext-repeat')!.click();
    expect(rows().length).toBeGreaterThan(2);
    dispose();
  });
});

describe('telemetry helpers', () => {
  it('reads units from names and scales values', () => {
    expect(unitOf('production: code.parse.duration.distribution')).toBe('s');
    expect(unitOf('job.done.ms.distribution')).toBe('ms');
    expect(unitOf('memory.rss.last_value')).toBe('B');
    expect(unitOf('scope.runtime.poll.crashes.last_value')).toBe('');
    expect(formatValue(0.00034, 's')).toBe('340 µs');
    expect(formatValue(1536000, 'B')).toBe('1.54 MB');
    expect(formatValue(59, '')).toBe('59');
    expect(formatValue(12500, '/s')).toBe('12.5k /s');
    expect(formatValue(null, 's')).toBe('–');
  });
  it('charts a counter as its rate and a distribution as percentiles over time', () => {
    expect(rates([[0, 0], [0.5, 5], [1, 10], [3, 30]])).toEqual([[1, 10], [3, 10]]);
    const [t, p50, p90, p99] = percentileSeries(Array.from({ length: 100 }, (_, i) => [i, i % 10]), 10);
    expect(t.length).toBe(10);
    expect(p50.every((v: number) => v === 4)).toBe(true);
    expect(p90.every((v: number) => v === 8)).toBe(true);
    expect(p99.every((v: number) => v === 9)).toBe(true);
  });
  it('fills the table with rates and percentiles', () => {
    const { el, feed, dispose } = live('telemetry');
    feed({ t: 'metrics', reset: true, metrics: {
      'production: jobs.count': { kind: 'counter', points: [[1, 1], [3, 21]], summary: [21, 21, 10, 10, 10, 2.5] },
      'production: job.duration.distribution': { kind: 'distribution', points: [[1, 0.002]], summary: [0.002, 1, 0.002, 0.003, 0.004, null] }
    } });
    const rows = [...el.querySelectorAll('.scope-ext-telemetry-table tr')].map(r => [...r.children].map(c => c.textContent));
    expect(rows[0]).toEqual(['metric', 'kind', 'value', 'rate/s', 'observed', 'p50', 'p90', 'p99']);
    expect(rows[1]).toEqual(['production: job.duration.distribution', 'distribution', '2 ms', '–', '1', '2 ms', '3 ms', '4 ms']);
    expect(rows[2]).toEqual(['production: jobs.count', 'counter', '21', '2.5', '21', '10 /s', '10 /s', '10 /s']);
    expect(el.querySelectorAll('.scope-ext-metric-picker input:checked').length).toBe(2);
    dispose();
  });
});

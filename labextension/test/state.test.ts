import { describe, expect, it } from 'vitest';

import { applyMessage, emptyState, EventRow, servicesOf, SIDEBAR_EVENTS } from '../src/state';

const node = (p: string | null, i: number, id: string, status = 'running') => ({
  p, i, id, kind: 'worker', status, restarts: 0, mailbox: 0, capacity: 10, error: null, started: null
});
const event = (id: number): EventRow => [id, 1000 + id, 'production', 'tick', 'info', null, null, null, '{}'];

describe('applyMessage', () => {
  it('a reset replaces everything; later messages change only what they carry', () => {
    const state = emptyState('connecting');
    applyMessage(state, {
      t: 'state', reset: true, runtime: 'running', paused: false,
      namespaces: [{ name: 'production', status: 'running', processes: 2, health: 'healthy', services: [] }],
      tree: { set: { production: node(null, 0, 'production'), 'production/a': node('production', 0, 'a') }, del: [] },
      events: [event(1)]
    });
    expect(state.phase).toBe('connected');
    expect([...state.nodes.keys()]).toEqual(['production', 'production/a']);

    applyMessage(state, {
      t: 'state', reset: false, runtime: 'running', paused: false,
      tree: { set: { 'production/a': node('production', 0, 'a', 'restarting') }, del: [] }, events: [event(2)]
    });
    expect(state.nodes.get('production/a')!.status).toBe('restarting');
    expect(state.namespaces.map(ns => ns.name)).toEqual(['production']); // absent: unchanged
    expect(state.events.map(e => e[0])).toEqual([1, 2]);

    applyMessage(state, {
      t: 'state', reset: false, runtime: 'running', paused: false, tree: { set: {}, del: ['production/a'] }, events: []
    });
    expect([...state.nodes.keys()]).toEqual(['production']);

    applyMessage(state, { t: 'state', reset: true, runtime: 'stopped', paused: false, namespaces: [], tree: null, events: [] });
    expect(state.runtime).toBe('stopped');
    expect(state.nodes.size).toBe(0);
    expect(state.events).toEqual([]);
  });

  it('keeps only the newest events', () => {
    const state = emptyState('connecting');
    const events = Array.from({ length: SIDEBAR_EVENTS + 30 }, (_, i) => event(i));
    applyMessage(state, { t: 'state', reset: true, runtime: 'running', paused: false, tree: null, events });
    expect(state.events.length).toBe(SIDEBAR_EVENTS);
    expect(state.events[0][0]).toBe(30);
  });

  it('a pause acknowledgement changes only the pause state', () => {
    const state = emptyState('connected');
    applyMessage(state, { t: 'paused', value: true });
    expect(state.paused).toBe(true);
    expect(state.phase).toBe('connected');
  });
});

describe('servicesOf', () => {
  it('lists a namespace’s services in tree order with their depth', () => {
    const state = emptyState('connected');
    state.nodes.set('production', node(null, 0, 'production'));
    state.nodes.set('production/b', node('production', 1, 'b'));
    state.nodes.set('production/a', node('production', 0, 'a'));
    state.nodes.set('production/a/x', node('production/a', 0, 'x'));
    state.nodes.set('scratch', node(null, 1, 'scratch'));
    state.nodes.set('scratch/z', node('scratch', 0, 'z'));
    expect(servicesOf(state, 'production').map(s => [s.path, s.depth])).toEqual([
      ['production/a', 0], ['production/a/x', 1], ['production/b', 0]
    ]);
  });
});

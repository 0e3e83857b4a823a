/**
 * The renderer for `application/vnd.scope-ext.snapshot+json`: every scope_ext view's output
 * carries a snapshot beside the live widget and an HTML fallback.
 *
 * It outranks both, then decides: when the live widget's model exists in this page (a running
 * kernel), it shows the live widget; otherwise (a reopened notebook, a new kernel, an untrusted
 * output) it draws the snapshot with the live views' own code (`scope_ext/notebook/static/views.js`)
 * instead of ipywidgets' "model not found". When a notebook is saved, each live view's current
 * state becomes its output's snapshot and HTML fallback, so a reopened notebook shows the last
 * state, with this extension or without it.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Message, MessageLoop } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { renderSnapshot, snapshotHTML } from '../../scope_ext/notebook/static/views.js';

export const SNAPSHOT_MIME = 'application/vnd.scope-ext.snapshot+json';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
/** Above ipywidgets' widget view (-10) and the HTML fallback (50): the renderer picks between them. */
export const SNAPSHOT_RANK = -20;

/** Where a snapshot renderer finds the renderer factory of live widgets (if any). */
export type LiveFactoryLookup = () => IRenderMime.IRendererFactory | undefined;

type SnapshotElement = HTMLElement & { scopeSnapshot?: () => Record<string, unknown> | null };

/** Every renderer now showing a live view: what a save refreshes. */
const liveRenderers = new Set<SnapshotRenderer>();

export class SnapshotRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions, liveFactory: LiveFactoryLookup, ready: Promise<unknown> | null = null) {
    super();
    this._options = options;
    this._liveFactory = liveFactory;
    this._ready = ready;
    this.addClass('scope-ext-snapshot-output');
    this._static.addClass('scope-ext-snapshot-static');
    this.addWidget(this._static);
  }

  /** Whether the live widget is on screen (rather than the snapshot). */
  get isLive(): boolean {
    return this._showingLive;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._model = model;
    if (this._showingLive) {
      return; // a refreshed snapshot changes nothing on screen
    }
    this._draw(model.data[SNAPSHOT_MIME]);
    if (model.trusted && model.data[WIDGET_VIEW_MIME] && this._live === null && !this._waiting) {
      this._waiting = true;
      void this._goLive(model).finally(() => (this._waiting = false));
    }
  }

  /**
   * Show the live widget once its renderer can find its model. In a notebook that waits for the
   * kernel's session: ipywidgets puts its notebook's widget manager (the one that restores the
   * models of a kernel that still runs, after a reload) in the notebook's registry only then, and
   * a renderer made before it has no manager and never draws.
   */
  private async _goLive(model: IRenderMime.IMimeModel): Promise<void> {
    if (this._ready) {
      await this._ready.catch(() => undefined); // no kernel: the renderer finds no model, the snapshot stays
      await new Promise(resolve => setTimeout(resolve, 0)); // after ipywidgets' own wait for the same session
    }
    const factory = this.isDisposed || this._live !== null ? undefined : this._liveFactory();
    if (factory) {
      const live = factory.createRenderer({ ...this._options, mimeType: WIDGET_VIEW_MIME });
      this._live = live;
      live.hide();
      // ipywidgets adds the view as a child once the model exists, possibly later (after the
      // page's widget manager restores); "model not found" adds none, and the snapshot stays.
      MessageLoop.installMessageHook(live, (_handler, msg: Message) => {
        if (msg.type === 'child-added') {
          this._showLive();
        }
        return true;
      });
      this.addWidget(live);
      await live.renderModel(model);
      if (!this._showingLive && live.hasClass('jupyter-widgets')) {
        live.dispose(); // ipywidgets' "model not found" (the kernel is new): the snapshot is what there is
      }
    }
  }

  /**
   * Make the output's snapshot the live view's state now (called when its notebook is saved).
   * Returns whether there was a live view to read.
   */
  storeLastState(): boolean {
    if (!this._showingLive || !this._live || !this._model) {
      return false;
    }
    const views = Array.from(this._live.node.querySelectorAll<SnapshotElement>('[data-scope-kind]'))
      .filter(el => el.scopeSnapshot)
      .map(el => el.scopeSnapshot!());
    if (!views.length) {
      return false;
    }
    // A view that has received nothing yet (a dashboard tab never shown, or saved before its first
    // batch) keeps the snapshot the kernel wrote when it was displayed.
    const saved = this._model.data[SNAPSHOT_MIME] as ReadonlyPartialJSONObject | undefined;
    let fresh: ReadonlyPartialJSONObject;
    if (saved?.kind === 'dashboard') {
      const before = (saved.views ?? []) as unknown as (Record<string, unknown> | null)[];
      const merged = views.map((view, i) => view ?? before[i] ?? null);
      fresh = { ...saved, at: Date.now() / 1000, views: merged } as unknown as ReadonlyPartialJSONObject;
    } else if (views[0]) {
      fresh = views[0] as ReadonlyPartialJSONObject;
    } else {
      return false;
    }
    const html = snapshotHTML(fresh); // for viewers without this extension
    this._model.setData({ data: { ...this._model.data, [SNAPSHOT_MIME]: fresh, 'text/html': html } });
    return true;
  }

  dispose(): void {
    liveRenderers.delete(this);
    this._undraw();
    super.dispose();
  }

  private _showLive(): void {
    if (this._showingLive || !this._live) {
      return;
    }
    this._showingLive = true;
    this._undraw();
    this._live.show();
    this.addClass('scope-ext-live');
    liveRenderers.add(this);
  }

  private _draw(snapshot: unknown): void {
    this._undraw();
    const node = this._static.node;
    const note = document.createElement('div');
    note.className = 'scope-ext-snapshot-note';
    const body = document.createElement('div');
    node.replaceChildren(note, body);
    try {
      this._dispose = renderSnapshot(snapshot, body);
      const at = (snapshot as { at?: number }).at;
      note.textContent =
        'saved snapshot' + (typeof at === 'number' ? ` of ${new Date(at * 1000).toLocaleString()}` : '');
    } catch (error) {
      note.textContent = `This scope_ext snapshot cannot be shown: ${(error as Error).message}`;
      note.classList.add('scope-ext-snapshot-error');
    }
  }

  private _undraw(): void {
    this._dispose?.();
    this._dispose = null;
    this._static.node.replaceChildren();
  }

  private _ready: Promise<unknown> | null;
  private _waiting = false;
  private _options: IRenderMime.IRendererOptions;
  private _liveFactory: LiveFactoryLookup;
  private _static = new Widget();
  private _live: IRenderMime.IRenderer | null = null;
  private _showingLive = false;
  private _model: IRenderMime.IMimeModel | null = null;
  private _dispose: (() => void) | null = null;
}

/** A renderer factory whose renderers look for live widgets with `liveFactory` (once `ready`, if given). */
export function snapshotFactory(
  liveFactory: LiveFactoryLookup,
  ready: Promise<unknown> | null = null
): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [SNAPSHOT_MIME],
    defaultRank: SNAPSHOT_RANK,
    createRenderer: options => new SnapshotRenderer(options, liveFactory, ready)
  };
}

/** Store the last state of every live view inside `root` (a notebook being saved); returns how many. */
export function storeLastStates(root: HTMLElement): number {
  let stored = 0;
  for (const renderer of liveRenderers) {
    if (root.contains(renderer.node) && renderer.storeLastState()) {
      stored += 1;
    }
  }
  return stored;
}

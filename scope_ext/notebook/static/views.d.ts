// Types of views.js for the JupyterLab extension (labextension/), which draws saved snapshots
// with the same code as the live views.

/** The snapshot format views.js writes and reads. */
export declare const SNAPSHOT_VERSION: number;

/** A service status's colour, as the tree draws it. */
export declare const STATUS_COLOR: Record<string, string>;

/** The colours of the unhealthy healths (`restarting`, `crashing`). */
export declare const HEALTH_COLOR: Record<string, string>;

/** A node's dot colour: its health's when it is unhealthy, else its status's. */
export declare function dotColor(node: { status: string; health?: string }): string;

/** A marker for a node with something unhealthy below it, or null. */
export declare function belowMark(node: { below?: string }): HTMLElement | null;

/** How bad a node looks, worst first: a crash loop 0, restarting 1, down 2, then the other statuses. */
export declare function badness(node: { status: string; health?: string }): number;

/** A node's status in words ("crash loop" for a crash loop, else its status). */
export declare function statusText(node: { status: string; health?: string }): string;

/** The tree's columns: key, title, and the value sorting by the column orders by. */
export declare const TREE_COLUMNS: { key: string; title: string; order: (node: object) => unknown }[];

/** What the details panel offers for `node` under `parent`: each action, its label and what it does in words. */
export declare function actionsFor(
  node: object | undefined,
  parent: object | null | undefined,
  below: object[]
): { action: string; label: string; says: string }[];

/** The exception line of a traceback (its last line that is not blank), else `error`. */
export declare function exceptionLine(traceback: string | null | undefined, error: string | null | undefined): string | null;

/** Runs of consecutive alike timeline events as [first index, count]. */
export declare function groupRuns(events: unknown[][]): [number, number][];

/** The unit a metric's values are in, from its name ("s", "ms", "B" or ""). */
export declare function unitOf(name: string): string;

/** A value with its unit, scaled ("340 µs", "1.54 MB", "12.5k /s"); "–" for none. */
export declare function formatValue(value: number | null | undefined, unit: string): string;

/** A running total's points as per-second rates over spans of at least `step` seconds. */
export declare function rates(points: [number, number][], step?: number): [number, number][];

/** p50 / p90 / p99 of a distribution's points over time: [times, p50s, p90s, p99s]. */
export declare function percentileSeries(points: [number, number][], buckets?: number): number[][];

/** Draw a saved snapshot into `el`; returns what disposes of it. Throws an Error naming what is wrong. */
export declare function renderSnapshot(snapshot: unknown, el: HTMLElement): () => void;

/** A snapshot as static HTML with inline styles only (for viewers without the extension). */
export declare function snapshotHTML(snapshot: unknown): string;

declare const _default: () => unknown;
export default _default;

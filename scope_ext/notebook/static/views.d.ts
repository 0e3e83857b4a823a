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

/** Draw a saved snapshot into `el`; returns what disposes of it. Throws an Error naming what is wrong. */
export declare function renderSnapshot(snapshot: unknown, el: HTMLElement): () => void;

/** A snapshot as static HTML with inline styles only (for viewers without the extension). */
export declare function snapshotHTML(snapshot: unknown): string;

declare const _default: () => unknown;
export default _default;

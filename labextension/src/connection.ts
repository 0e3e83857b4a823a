/**
 * The sidebar's link to one kernel: it opens the `scope_ext.sidebar` comm, turns the kernel's
 * messages into state, and sends visibility and pause.
 *
 * A kernel without scope_ext closes the comm at once: the state says `not-loaded`. When the
 * kernel later runs `%load_ext scope_ext`, it opens a comm to `scope_ext.announce`, and the
 * connection opens the sidebar comm again: no polling.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ANNOUNCE_TARGET,
  applyMessage,
  emptyState,
  IScopeState,
  SIDEBAR_TARGET,
  SidebarMessage
} from './state';

export class ScopeConnection {
  constructor(kernel: Kernel.IKernelConnection | null) {
    this._kernel = kernel;
    this.state = emptyState(kernel ? 'connecting' : 'no-kernel');
    if (kernel) {
      kernel.registerCommTarget(ANNOUNCE_TARGET, this._onAnnounce);
      this._open();
    }
  }

  /** The kernel this connection follows (null: no notebook or no kernel). */
  get kernel(): Kernel.IKernelConnection | null {
    return this._kernel;
  }

  /** What the sidebar shows; changes in place, then `changed` fires. */
  readonly state: IScopeState;

  get changed(): ISignal<this, IScopeState> {
    return this._changed;
  }

  /** Tell the kernel whether the sidebar is in sight (it sends nothing while hidden). */
  setVisible(visible: boolean): void {
    this._send({ t: 'visible', value: visible });
  }

  /** Hold or resume every live view of the kernel's runtime, the sidebar included. */
  setPaused(paused: boolean): void {
    this._send({ t: 'pause', value: paused });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    const kernel = this._kernel;
    if (kernel && !kernel.isDisposed) {
      kernel.removeCommTarget(ANNOUNCE_TARGET, this._onAnnounce);
      if (this._comm && !this._comm.isDisposed) {
        this._comm.close();
      }
    }
    this._comm = null;
    Signal.clearData(this);
  }

  private _open(): void {
    const kernel = this._kernel!;
    const comm = kernel.createComm(SIDEBAR_TARGET);
    this._comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      if (comm !== this._comm) {
        return;
      }
      applyMessage(this.state, msg.content.data as unknown as SidebarMessage);
      this._changed.emit(this.state);
    };
    comm.onClose = () => {
      if (comm !== this._comm || this._disposed) {
        return;
      }
      this._comm = null;
      Object.assign(this.state, emptyState('not-loaded'));
      this._changed.emit(this.state);
    };
    comm.open({});  // the kernel answers with everything it has
  }

  private _onAnnounce = (comm: Kernel.IComm): void => {
    if (!comm.isDisposed) {
      comm.close();
    }
    if (!this._disposed && this._comm === null) {
      this.state.phase = 'connecting';
      this._changed.emit(this.state);
      this._open();
    }
  };

  private _send(data: Record<string, unknown>): void {
    if (this._comm && !this._comm.isDisposed) {
      this._comm.send(data as any);
    }
  }

  private _kernel: Kernel.IKernelConnection | null;
  private _comm: Kernel.IComm | null = null;
  private _disposed = false;
  private _changed = new Signal<this, IScopeState>(this);
}

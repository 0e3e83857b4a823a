/**
 * scope_ext in JupyterLab: the snapshot renderer, the Scope sidebar, and the palette commands.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { Kernel } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ScopeConnection } from './connection';
import { CommandIDs, ScopeSidebar } from './sidebar';
import { snapshotFactory, SNAPSHOT_RANK, storeLastStates, WIDGET_VIEW_MIME } from './snapshot';

const scopeIcon = new LabIcon({
  name: 'scope-ext:scope',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="12" cy="5" r="3"/><circle cx="5" cy="19" r="3"/><circle cx="19" cy="19" r="3"/>' +
    '<path d="M11 8h2v4h6v4h-2v-2H7v2H5v-4h6z"/></g></svg>'
});

/** What the commands run in the kernel: load scope_ext if needed (quietly), then the command. */
const LOAD = 'get_ipython().extension_manager.load_extension("scope_ext")';
const START = `${LOAD}\nget_ipython().run_line_magic("scope", "start")`;

/**
 * Snapshots: every notebook's (and the app's) renderers get a snapshot factory that looks for
 * live widgets in the same registry; a save stores each live view's last state first.
 */
const snapshots: JupyterFrontEndPlugin<void> = {
  id: 'scope-ext:snapshot-renderer',
  description: 'Draws saved scope_ext views, or the live widget when its model exists.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, notebooks: INotebookTracker | null) => {
    rendermime.addFactory(snapshotFactory(() => rendermime.getFactory(WIDGET_VIEW_MIME)), SNAPSHOT_RANK);
    notebooks?.widgetAdded.connect((_, panel) => {
      const own = panel.content.rendermime;
      own.addFactory(snapshotFactory(() => own.getFactory(WIDGET_VIEW_MIME), panel.sessionContext.ready), SNAPSHOT_RANK);
      panel.context.saveState.connect((_context, state) => {
        if (state === 'started') {
          storeLastStates(panel.node);
        }
      });
    });
  }
};

/** The sidebar and the commands, both about the current notebook's kernel. */
const sidebar: JupyterFrontEndPlugin<void> = {
  id: 'scope-ext:sidebar',
  description: 'The Scope sidebar and the scope_ext commands for the current notebook kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    palette: ICommandPalette | null
  ) => {
    const { commands, shell } = app;
    const view = new ScopeSidebar(commands);
    view.title.icon = scopeIcon;
    let panel: NotebookPanel | null = null;

    const connect = (kernel: Kernel.IKernelConnection | null): void => {
      view.connection?.dispose();
      view.connection = new ScopeConnection(kernel);
    };
    const follow = (): void => {
      const kernel = panel?.sessionContext.session?.kernel ?? null;
      if (view.connection?.kernel !== kernel) {
        connect(kernel);
      }
    };
    const onStatus = (): void => {
      const status = panel?.sessionContext.kernelDisplayStatus;
      if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
        connect(null); // the kernel's comms are gone, and a restarted kernel has no scope_ext
      } else if (status === 'idle' || status === 'busy') {
        follow();
      }
    };
    const track = (next: NotebookPanel | null): void => {
      if (panel) {
        panel.sessionContext.kernelChanged.disconnect(follow);
        panel.sessionContext.statusChanged.disconnect(onStatus);
      }
      panel = next;
      view.label = panel ? panel.title.label : '';
      panel?.sessionContext.kernelChanged.connect(follow);
      panel?.sessionContext.statusChanged.connect(onStatus);
      follow();
    };
    notebooks.currentChanged.connect((_, next) => track(next));
    track(notebooks.currentWidget);

    const kernelOf = (): NotebookPanel | null => (panel?.sessionContext.session?.kernel ? panel : null);
    const openOutput = (title: string, code: string): void => {
      const current = kernelOf();
      if (!current) {
        return;
      }
      // Trusted: the output comes from our own command, so the live widget may show.
      const model = new OutputAreaModel({ trusted: true });
      const area = new OutputArea({ model, rendermime: current.content.rendermime });
      const main = new MainAreaWidget({ content: area });
      main.id = `scope-ext-${title.toLowerCase()}-${Date.now()}`;
      main.title.label = `${title}: ${current.title.label}`;
      main.title.icon = scopeIcon;
      main.title.closable = true;
      shell.add(main, 'main', { mode: 'split-right', ref: current.id });
      void OutputArea.execute(code, area, current.sessionContext);
    };

    // The palette shows "Scope: …" (so typing "scope" finds them first); the sidebar's own
    // buttons ask for the short label with { short: true }.
    const label =
      (text: string) =>
      (args: ReadonlyPartialJSONObject): string =>
        args.short ? text : `Scope: ${text}`;
    const running = (): boolean =>
      view.connection?.state.phase === 'connected' && view.connection.state.runtime === 'running';
    commands.addCommand(CommandIDs.start, {
      label: label('Start Runtime'),
      caption: 'Load scope_ext in the current notebook’s kernel (if needed) and start its runtime',
      isEnabled: () => kernelOf() !== null && !running(),
      execute: async () => {
        const kernel = kernelOf()?.sessionContext.session?.kernel;
        if (kernel) {
          await kernel.requestExecute({ code: START, silent: true, store_history: false }).done;
        }
      }
    });
    commands.addCommand(CommandIDs.dashboard, {
      label: label('Open Dashboard'),
      caption: 'The supervision tree, events and telemetry of the current notebook’s kernel, live',
      isEnabled: () => kernelOf() !== null,
      execute: () => openOutput('Scope dashboard', `${LOAD}\n%scope dashboard`)
    });
    commands.addCommand(CommandIDs.timeline, {
      label: label('Open Event Timeline'),
      caption: 'Every namespace’s events as they are stored, live',
      isEnabled: () => kernelOf() !== null,
      execute: () => openOutput('Scope events', `${LOAD}\n%scope timeline`)
    });
    commands.addCommand(CommandIDs.pause, {
      label: args => label(view.connection?.state.paused ? 'Resume Live Updates' : 'Pause Live Updates')(args),
      caption: 'Hold or resume every live scope_ext view of the current kernel',
      isToggled: () => view.connection?.state.paused ?? false,
      isEnabled: () => view.connection?.state.phase === 'connected',
      execute: () => {
        const connection = view.connection;
        if (connection?.state.phase === 'connected') {
          connection.setPaused(!connection.state.paused);
        }
      }
    });
    commands.addCommand(CommandIDs.show, {
      label: label('Show Sidebar'),
      execute: () => shell.activateById(view.id)
    });
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category: 'Scope' });
    }
    notebooks.currentChanged.connect(() => commands.notifyCommandChanged());
    shell.add(view, 'left', { rank: 600 });
  }
};

export default [snapshots, sidebar];

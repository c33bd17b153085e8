/**
 * The part of the `vscode` API the extension uses, small enough to read, standing in for the
 * editor in unit tests (`vi.mock('vscode', () => import('./vscodeStub'))`). What the extension
 * registers and shows is recorded in `host`; tests drive it through `host` too.
 */

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => { this.listeners = this.listeners.filter((l) => l !== listener); });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly onDispose: () => void = () => undefined) {}
  dispose(): void {
    this.onDispose();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
}

export class Range {
  constructor(readonly startLine: number, readonly startCharacter: number, readonly endLine: number, readonly endCharacter: number) {}
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  constructor(readonly value: string) {}
}

export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }
export enum StatusBarAlignment { Left = 1, Right = 2 }
export enum DebugConfigurationProviderTriggerKind { Initial = 1, Dynamic = 2 }

export class TreeItem {
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  command?: { title: string; command: string; arguments?: unknown[] };
  constructor(readonly label: string, readonly collapsibleState = TreeItemCollapsibleState.None) {}
}

export class DebugAdapterExecutable {
  constructor(readonly command: string, readonly args: string[] = [], readonly options?: { env?: Record<string, string>; cwd?: string }) {}
}

export interface TextEditorStub {
  document: { uri: Uri; languageId: string; fileName: string; isDirty: boolean; save(): Promise<boolean> };
}

export function editorOn(path: string): TextEditorStub {
  return { document: { uri: Uri.file(path), languageId: 'nasm', fileName: path, isDirty: false, save: () => Promise.resolve(true) } };
}

export interface DebugSessionStub {
  id: string;
  type: string;
  name: string;
  configuration: Record<string, unknown>;
}

interface TreeViewStub {
  provider: { getChildren(node?: unknown): unknown[] | Promise<unknown[]>; getTreeItem(node: unknown): TreeItem };
  message?: string;
}

interface StatusBarItemStub {
  id: string;
  text: string;
  tooltip?: string;
  command?: string;
  name?: string;
  visible: boolean;
}

/** Everything the extension did to the editor, and the editor state it reads. */
export const host = {
  settings: {} as Record<string, unknown>,
  activeTextEditor: undefined as TextEditorStub | undefined,
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  executed: [] as { command: string; args: unknown[] }[],
  configurationProviders: [] as { type: string; provider: Record<string, (...args: never[]) => unknown>; trigger: DebugConfigurationProviderTriggerKind }[],
  adapterFactories: new Map<string, { createDebugAdapterDescriptor(session?: unknown): unknown }>(),
  treeViews: new Map<string, TreeViewStub>(),
  statusBarItems: [] as StatusBarItemStub[],
  messages: [] as { severity: 'error' | 'info'; text: string }[],
  log: [] as { level: string; text: string }[],
  /** Text of the plain output channels, by name. */
  outputs: new Map<string, string>(),
  progress: [] as string[],
  started: [] as { folder: unknown; config: Record<string, unknown>; options: unknown }[],
  sessionStart: new EventEmitter<DebugSessionStub>(),
  sessionEnd: new EventEmitter<DebugSessionStub>(),
  activeSession: new EventEmitter<DebugSessionStub | undefined>(),
  customEvent: new EventEmitter<{ session: DebugSessionStub; event: string; body: unknown }>(),
  reset(): void {
    this.settings = {};
    this.activeTextEditor = undefined;
    this.commands.clear();
    this.executed = [];
    this.configurationProviders = [];
    this.adapterFactories.clear();
    this.treeViews.clear();
    this.statusBarItems = [];
    this.messages = [];
    this.log = [];
    this.outputs.clear();
    this.progress = [];
    this.started = [];
  },
};

export const window = {
  get activeTextEditor(): TextEditorStub | undefined {
    return host.activeTextEditor;
  },
  showErrorMessage(text: string): Promise<undefined> {
    host.messages.push({ severity: 'error', text });
    return Promise.resolve(undefined);
  },
  showInformationMessage(text: string): Promise<undefined> {
    host.messages.push({ severity: 'info', text });
    return Promise.resolve(undefined);
  },
  showQuickPick(): Promise<undefined> {
    return Promise.resolve(undefined);
  },
  createOutputChannel(name: string, options?: { log: true }) {
    const line = (level: string) => (text: string): void => { host.log.push({ level, text }); };
    if (options?.log) return { info: line('info'), warn: line('warn'), error: line('error'), trace: line('trace'), debug: line('debug'), dispose: () => undefined };
    host.outputs.set(name, '');
    return {
      append: (text: string) => { host.outputs.set(name, host.outputs.get(name) + text); },
      clear: () => { host.outputs.set(name, ''); },
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  withProgress<R>(options: { title: string }, task: (progress: unknown, token: { isCancellationRequested: boolean; onCancellationRequested(l: () => void): Disposable }) => Promise<R>): Promise<R> {
    host.progress.push(options.title);
    return task({ report: () => undefined }, { isCancellationRequested: false, onCancellationRequested: () => new Disposable() });
  },
  createStatusBarItem(id: string): StatusBarItemStub & { show(): void; hide(): void; dispose(): void } {
    const item = {
      id, text: '', visible: false,
      show() { item.visible = true; },
      hide() { item.visible = false; },
      dispose() { item.visible = false; },
    };
    host.statusBarItems.push(item);
    return item;
  },
  createTreeView(id: string, options: { treeDataProvider: TreeViewStub['provider'] }): TreeViewStub & { dispose(): void } {
    const view = { provider: options.treeDataProvider, message: undefined as string | undefined, dispose: () => undefined };
    host.treeViews.set(id, view);
    return view;
  },
};

export const workspace = {
  getConfiguration(section: string) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const v = host.settings[`${section}.${key}`];
        return v === undefined ? fallback : (v as T);
      },
    };
  },
  getWorkspaceFolder(): undefined {
    return undefined;
  },
  asRelativePath(uri: Uri): string {
    return uri.fsPath;
  },
};

export const commands = {
  registerCommand(command: string, callback: (...args: unknown[]) => unknown): Disposable {
    if (host.commands.has(command)) throw new Error(`command '${command}' already exists`);
    host.commands.set(command, callback);
    return new Disposable(() => host.commands.delete(command));
  },
  executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    host.executed.push({ command, args });
    return Promise.resolve(host.commands.get(command)?.(...args));
  },
};

export const debug = {
  registerDebugConfigurationProvider(type: string, provider: Record<string, (...args: never[]) => unknown>,
    trigger = DebugConfigurationProviderTriggerKind.Initial): Disposable {
    host.configurationProviders.push({ type, provider, trigger });
    return new Disposable();
  },
  registerDebugAdapterDescriptorFactory(type: string, factory: { createDebugAdapterDescriptor(): unknown }): Disposable {
    host.adapterFactories.set(type, factory);
    return new Disposable();
  },
  startDebugging(folder: unknown, config: Record<string, unknown>, options?: unknown): Promise<boolean> {
    host.started.push({ folder, config, options });
    return Promise.resolve(true);
  },
  onDidStartDebugSession: host.sessionStart.event,
  onDidTerminateDebugSession: host.sessionEnd.event,
  onDidChangeActiveDebugSession: host.activeSession.event,
  onDidReceiveDebugSessionCustomEvent: host.customEvent.event,
};

/**
 * The part of the `vscode` API the extension uses, small enough to read, standing in for the
 * editor in unit tests (`vi.mock('vscode', () => import('./vscodeStub'))`). What the extension
 * registers and shows is recorded in `host`; tests drive it through `host` too.
 */
import { readFileSync } from 'node:fs';

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
  static from(parts: { scheme: string; path: string }): Uri {
    return new Uri(parts.scheme, parts.path);
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return `${this.scheme}:${this.fsPath}`;
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

export class CodeLens {
  constructor(readonly range: Range, readonly command?: { title: string; command: string }) {}
}

export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }
export enum QuickPickItemKind { Separator = -1, Default = 0 }
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
  customRequest(command: string, args?: unknown): Promise<unknown>;
}

/** A session whose custom requests the adapter stand-in `host.adapter` answers (and `host.requests` records). */
export function sessionStub(id: string, configuration: Record<string, unknown>): DebugSessionStub {
  const session: DebugSessionStub = {
    id, type: 'vtscope', name: String(configuration.name ?? 'k'), configuration,
    customRequest(command: string, args?: unknown): Promise<unknown> {
      host.requests.push({ session: id, command, args });
      for (const t of host.trackers) t.onWillReceiveMessage?.({ type: 'request', seq: host.requests.length, command, arguments: args }, session);
      return host.adapter(command, args);
    },
  };
  return session;
}

interface WebviewPanelStub {
  viewType: string;
  title: string;
  options: unknown;
  webview: { html: string };
  disposed: boolean;
}

interface TrackerStub {
  onWillReceiveMessage?(message: unknown, session: DebugSessionStub): void;
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
  webviews: [] as WebviewPanelStub[],
  codeLensProviders: [] as { selector: unknown; provider: { provideCodeLenses(doc: unknown): CodeLens[]; onDidChangeCodeLenses?: unknown } }[],
  contentProviders: new Map<string, { provideTextDocumentContent(uri: Uri): string }>(),
  /** Documents shown in an editor, with their text and the options they were shown with. */
  shownDocuments: [] as { uri: Uri; text: string; options?: unknown }[],
  /** Answers the next showQuickPick: gets the items, returns the chosen ones. */
  quickPick: (items: unknown[]) => undefined as unknown,
  quickPickItems: [] as unknown[],
  /** The debug adapter stand-in: answers custom requests. */
  adapter: (command: string, _args?: unknown): Promise<unknown> => Promise.reject(new Error(`no handler for ${command}`)),
  requests: [] as { session: string; command: string; args: unknown }[],
  trackerFactories: [] as { type: string; factory: { createDebugAdapterTracker(session: DebugSessionStub): TrackerStub } }[],
  trackers: [] as (TrackerStub & { session: DebugSessionStub })[],
  configurationChange: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
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
    this.webviews = [];
    this.codeLensProviders = [];
    this.contentProviders.clear();
    this.shownDocuments = [];
    this.quickPick = () => undefined;
    this.quickPickItems = [];
    this.adapter = (command) => Promise.reject(new Error(`no handler for ${command}`));
    this.requests = [];
    this.trackerFactories = [];
    this.trackers = [];
  },
  /** Starts a debug session as VS Code would: trackers first, then the start event. */
  startSession(session: DebugSessionStub): void {
    for (const f of this.trackerFactories) if (f.type === session.type) this.trackers.push({ ...f.factory.createDebugAdapterTracker(session), session });
    this.sessionStart.fire(session);
  },
  /** A request VS Code itself sends to the adapter of `session`. */
  editorRequest(session: DebugSessionStub, command: string, args: unknown): void {
    for (const t of this.trackers) if (t.session.id === session.id) t.onWillReceiveMessage?.({ type: 'request', seq: 0, command, arguments: args }, session);
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
  showQuickPick(items: unknown[]): Promise<unknown> {
    host.quickPickItems = items;
    return Promise.resolve(host.quickPick(items));
  },
  createWebviewPanel(viewType: string, title: string, _column: unknown, options: unknown) {
    const panel = {
      viewType, title, options, webview: { html: '' }, disposed: false,
      onDidDispose: () => new Disposable(),
      reveal: () => undefined,
      dispose: () => { panel.disposed = true; },
    };
    host.webviews.push(panel);
    return panel;
  },
  showTextDocument(doc: { uri: Uri; getText(): string }, options?: unknown): Promise<unknown> {
    host.shownDocuments.push({ uri: doc.uri, text: doc.getText(), ...(options === undefined ? {} : { options }) });
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
  workspaceFolders: undefined,
  onDidChangeConfiguration: host.configurationChange.event,
  registerTextDocumentContentProvider(scheme: string, provider: { provideTextDocumentContent(uri: Uri): string }): Disposable {
    host.contentProviders.set(scheme, provider);
    return new Disposable(() => host.contentProviders.delete(scheme));
  },
  openTextDocument(uri: Uri): Promise<{ uri: Uri; getText(): string }> {
    if (uri.scheme === 'file') {
      try {
        const text = readFileSync(uri.fsPath, 'utf8');
        return Promise.resolve({ uri, getText: () => text });
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const provider = host.contentProviders.get(uri.scheme);
    if (provider === undefined) return Promise.reject(new Error(`no content provider for ${uri.scheme}`));
    const text = provider.provideTextDocumentContent(uri);
    return Promise.resolve({ uri, getText: () => text });
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

export const languages = {
  registerCodeLensProvider(selector: unknown, provider: { provideCodeLenses(doc: unknown): CodeLens[] }): Disposable {
    host.codeLensProviders.push({ selector, provider });
    return new Disposable();
  },
};

export const debug = {
  registerDebugAdapterTrackerFactory(type: string, factory: { createDebugAdapterTracker(session: DebugSessionStub): TrackerStub }): Disposable {
    host.trackerFactories.push({ type, factory });
    return new Disposable();
  },
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

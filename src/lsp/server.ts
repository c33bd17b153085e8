/**
 * The language server for guest assembly sources (language id `nasm`) over an LSP
 * connection: diagnostics from the built-in assembler as the user types (debounced), hovers,
 * navigation, symbols, completion, folding, hypercall inlay hints, and code lenses from a
 * provider when one is plugged in. It runs in plain Node; nothing here needs VS Code.
 *
 * Initialization options: `{ includePaths?: string[], defines?: Record<string, string>,
 * debounceMs?: number }` (absolute include paths and defines as for `vtscope asm -I/-D`).
 * `workspace/didChangeConfiguration` with `settings.vtscope.asm` of the same shape replaces
 * the include paths and defines, and the open documents are analysed again.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Connection, DidChangeWatchedFilesNotification, type InitializeParams, type InitializeResult,
  ResponseError, TextDocuments, TextDocumentSyncKind,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { AssemblerBackend } from './assembly';
import { completion } from './completion';
import { hover } from './hover';
import { inlayHints } from './inlayHints';
import { type LensProvider, lensSites } from './lens';
import { definition, prepareRename, references, rename } from './navigation';
import { documentSymbols, foldingRanges, workspaceSymbols } from './outline';
import { type FileSystem, nodeFileSystem } from './project';
import { type AnalysisReport, type AssemblerSettings, LanguageService } from './service';

const DEFAULT_DEBOUNCE_MS = 150;

export interface ServerOptions {
  fs?: FileSystem;
  /** Where assemblies run (default: in the server's thread). */
  assembler?: AssemblerBackend;
  lensProvider?: LensProvider;
}

export interface InitializationOptions {
  includePaths?: string[];
  defines?: Record<string, string>;
  debounceMs?: number;
}

export interface LanguageServer {
  /** Undefined until the client has sent `initialize`. */
  readonly service: LanguageService | undefined;
  /** Asks the client to fetch code lenses again (after new exit-log counts). */
  refreshLenses(): void;
  /** Resolves once no analysis is scheduled or running. */
  settled(): Promise<void>;
}

/** The include paths and defines of a client's message; entries of the wrong type are left out. */
export function assemblerSettings(raw: unknown): AssemblerSettings {
  const o = typeof raw === 'object' && raw !== null ? raw as Record<string, unknown> : {};
  const paths = Array.isArray(o.includePaths) ? o.includePaths : [];
  const defines = typeof o.defines === 'object' && o.defines !== null && !Array.isArray(o.defines) ? o.defines as Record<string, unknown> : {};
  return {
    includePaths: paths.filter((p): p is string => typeof p === 'string' && p !== ''),
    defines: Object.fromEntries(Object.entries(defines).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
}

/** A file URI's path; any other URI (an untitled document) stands for itself. */
function uriToPath(uri: string): string {
  if (!uri.startsWith('file:')) return uri;
  try { return fileURLToPath(uri); } catch { return uri; }
}

export function startServer(connection: Connection, options: ServerOptions = {}): LanguageServer {
  const documents = new TextDocuments(TextDocument);
  const uris = new Map<string, string>();
  /** What was last sent for each file, as JSON. */
  const published = new Map<string, string>();
  let service: LanguageService | undefined;
  let debounceMs = DEFAULT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  let canRefreshHints = false;
  let canRefreshLenses = false;
  let canWatchFiles = false;

  const uriOf = (path: string): string => uris.get(path) ?? (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) ? pathToFileURL(path).href : path);

  /** Logs to the client; a connection already closed has no one to tell. */
  const log = (message: string): void => {
    try { connection.console.error(message); } catch { /* closed */ }
  };

  /** Runs a request handler; an unexpected failure is logged and answered with `fallback`. */
  const guard = <T>(what: string, fallback: T, f: (s: LanguageService) => T): T => {
    if (service === undefined) return fallback;
    try {
      return f(service);
    } catch (e) {
      if (e instanceof ResponseError) throw e;
      log(`${what} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return fallback;
    }
  };

  /** Sends the diagnostics of files whose list changed (and empty lists for files no longer analysed). */
  const publish = (report: AnalysisReport): void => {
    for (const [path, diagnostics] of report.diagnostics) {
      const json = JSON.stringify(diagnostics);
      if (published.get(path) === json) continue;
      void connection.sendDiagnostics({ uri: uriOf(path), diagnostics });
      published.set(path, json);
    }
    for (const path of [...published.keys()]) {
      if (report.diagnostics.has(path)) continue;
      void connection.sendDiagnostics({ uri: uriOf(path), diagnostics: [] });
      published.delete(path);
    }
    if (canRefreshHints) void connection.languages.inlayHint.refresh().catch(() => undefined);
    if (canRefreshLenses && options.lensProvider) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  };

  /** Analyses run one after the other; an edit cancels the one under way and schedules the next. */
  let analyses: Promise<void> = Promise.resolve();
  const analyze = (): void => {
    timer = undefined;
    const s = service;
    if (s === undefined) return;
    analyses = analyses.then(async () => {
      try {
        const report = await s.analyze();
        if (report) publish(report);
      } catch (e) {
        log(`assembly failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      }
    });
  };

  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    service?.cancel();
    timer = setTimeout(analyze, debounceMs);
  };
  connection.onShutdown(() => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    service?.dispose();
  });

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.debounceMs === 'number' && init.debounceMs >= 0) debounceMs = init.debounceMs;
    service = new LanguageService({
      fs: options.fs ?? nodeFileSystem,
      ...assemblerSettings(init),
      uriOf,
      assembler: options.assembler,
    });
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    service.project.scan(folders.filter((u) => u.startsWith('file:')).map(uriToPath));
    const caps = params.capabilities;
    canRefreshHints = caps.workspace?.inlayHint?.refreshSupport === true;
    canRefreshLenses = caps.workspace?.codeLens?.refreshSupport === true;
    canWatchFiles = caps.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        completionProvider: { triggerCharacters: ['.', '%'] },
        foldingRangeProvider: true,
        inlayHintProvider: true,
        codeLensProvider: options.lensProvider ? { resolveProvider: false } : undefined,
      },
      serverInfo: { name: 'vtscope-nasm' },
    };
  });

  connection.onInitialized(() => {
    if (canWatchFiles) {
      void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{asm,nasm,inc,mac}' }] });
    }
  });

  const track = (doc: TextDocument): void => {
    if (service === undefined) return;
    const path = uriToPath(doc.uri);
    uris.set(path, doc.uri);
    service.project.setOpen(path, doc.getText());
    schedule();
  };
  documents.onDidOpen((e) => track(e.document));
  documents.onDidChangeContent((e) => track(e.document));
  documents.onDidClose((e) => {
    const path = uriToPath(e.document.uri);
    service?.project.close(path);
    uris.delete(path);
    schedule();
  });
  connection.onDidChangeConfiguration((p) => {
    const section = (p.settings as { vtscope?: { asm?: unknown } } | null)?.vtscope?.asm;
    if (section === undefined || service === undefined) return;
    service.configure(assemblerSettings(section));
    schedule();
  });
  connection.onDidChangeWatchedFiles((p) => {
    for (const c of p.changes) service?.project.diskChanged(uriToPath(c.uri));
    schedule();
  });

  const at = (p: { textDocument: { uri: string }; position: { line: number; character: number } }) =>
    [uriToPath(p.textDocument.uri), p.position.line, p.position.character] as const;

  connection.onHover((p) => guard('hover', null, (s) => hover(s, ...at(p)) ?? null));
  connection.onDefinition((p) => guard('definition', [], (s) => definition(s, ...at(p))));
  connection.onReferences((p) => guard('references', [], (s) => references(s, ...at(p), p.context.includeDeclaration)));
  connection.onPrepareRename((p) => guard('prepareRename', null, (s) => prepareRename(s, ...at(p)) ?? null));
  connection.onRenameRequest((p) => guard('rename', null, (s) => rename(s, ...at(p), p.newName)));
  connection.onCompletion((p) => guard('completion', [], (s) => completion(s, ...at(p))));
  connection.onDocumentSymbol((p) => guard('documentSymbol', [], (s) => {
    const path = uriToPath(p.textDocument.uri);
    const index = s.index(path);
    const table = s.symbols(path);
    return index ? documentSymbols(index, (n) => table.macro(n) !== undefined) : [];
  }));
  connection.onWorkspaceSymbol((p) => guard('workspaceSymbol', [], (s) => workspaceSymbols(s, p.query)));
  connection.onFoldingRanges((p) => guard('foldingRange', [], (s) => {
    const index = s.index(uriToPath(p.textDocument.uri));
    return index ? foldingRanges(index) : [];
  }));
  connection.languages.inlayHint.on((p) => guard('inlayHint', [], (s) => inlayHints(s.hypercallSites(uriToPath(p.textDocument.uri)), p.range)));
  connection.onCodeLens(async (p) => {
    const provider = options.lensProvider;
    const sites = guard('codeLens', undefined, (s) => {
      const path = uriToPath(p.textDocument.uri);
      const index = s.index(path);
      return index ? lensSites(index, s.hypercallSites(path)) : undefined;
    });
    if (provider === undefined || sites === undefined) return [];
    try {
      return await provider.lenses(p.textDocument.uri, sites);
    } catch (e) {
      log(`codeLens provider failed: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  });

  documents.listen(connection);
  return {
    get service() { return service; },
    refreshLenses: () => { if (canRefreshLenses) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined); },
    async settled() {
      for (;;) {
        if (timer !== undefined) { await new Promise((r) => setTimeout(r, debounceMs)); continue; }
        const current = analyses;
        await current;
        if (current === analyses && timer === undefined) return;
      }
    },
  };
}

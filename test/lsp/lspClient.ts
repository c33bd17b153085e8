/**
 * Test harness: the language server in this process, driven over a real LSP connection (two
 * in-memory streams, JSON-RPC framing and all), with a small client that opens documents,
 * waits for published diagnostics and sends requests.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  CompletionRequest, type CompletionItem, createConnection, createProtocolConnection, DefinitionRequest,
  type Diagnostic, DidChangeTextDocumentNotification, DidCloseTextDocumentNotification, DidOpenTextDocumentNotification,
  DocumentSymbolRequest, type DocumentSymbol, FoldingRangeRequest, type FoldingRange, HoverRequest, type Hover,
  InitializedNotification, InitializeRequest, InlayHintRequest, type InlayHint, type Location, type MarkupContent,
  PrepareRenameRequest, type ProtocolConnection, type ServerCapabilities, ShutdownRequest, PublishDiagnosticsNotification, ReferencesRequest, RenameRequest,
  StreamMessageReader, StreamMessageWriter, type SymbolInformation, type WorkspaceEdit, WorkspaceSymbolRequest,
} from 'vscode-languageserver/node';
import { type LanguageServer, type ServerOptions, startServer } from '../../src/lsp/server';

export interface Client {
  dir: string;
  /** What the server answered to `initialize`. */
  capabilities: ServerCapabilities;
  server: LanguageServer;
  connection: ProtocolConnection;
  /** Absolute path of `name` in the workspace folder. */
  path(name: string): string;
  uri(name: string): string;
  /** Writes a file to disk in the workspace folder. */
  write(name: string, text: string): void;
  open(name: string, text: string): void;
  change(name: string, text: string): void;
  close(name: string): void;
  /** The next diagnostics published for `name` (after whatever was sent before the call). */
  nextDiagnostics(name: string): Promise<Diagnostic[]>;
  /** The latest diagnostics published for `name`, waiting for the first if none yet. */
  diagnostics(name: string): Promise<Diagnostic[]>;
  hover(name: string, line: number, character: number): Promise<string | undefined>;
  definition(name: string, line: number, character: number): Promise<Location[]>;
  references(name: string, line: number, character: number, includeDeclaration?: boolean): Promise<Location[]>;
  prepareRename(name: string, line: number, character: number): Promise<unknown>;
  rename(name: string, line: number, character: number, newName: string): Promise<WorkspaceEdit | null>;
  documentSymbols(name: string): Promise<DocumentSymbol[]>;
  workspaceSymbols(query: string): Promise<SymbolInformation[]>;
  completion(name: string, line: number, character: number): Promise<CompletionItem[]>;
  folding(name: string): Promise<FoldingRange[]>;
  inlayHints(name: string): Promise<InlayHint[]>;
  /** Shuts the server down (no pending analysis) and removes the folder. */
  dispose(): Promise<void>;
}

/** Starts a server on a fresh temporary workspace folder holding `files`. */
export async function startClient(files: Record<string, string> = {}, initializationOptions: object = {}, serverOptions: ServerOptions = {}): Promise<Client> {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-lsp-'));
  const write = (name: string, text: string): void => {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  };
  for (const [name, text] of Object.entries(files)) write(name, text);

  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const serverConnection = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const server = startServer(serverConnection, serverOptions);
  serverConnection.listen();
  const connection = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  connection.listen();

  const path = (name: string): string => join(dir, name);
  const uri = (name: string): string => pathToFileURL(path(name)).href;
  const latest = new Map<string, Diagnostic[]>();
  const waiting = new Map<string, ((d: Diagnostic[]) => void)[]>();
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    latest.set(p.uri, p.diagnostics);
    const w = waiting.get(p.uri) ?? [];
    waiting.delete(p.uri);
    for (const resolve of w) resolve(p.diagnostics);
  });
  const next = (name: string): Promise<Diagnostic[]> => new Promise((resolve) => {
    const u = uri(name);
    waiting.set(u, [...(waiting.get(u) ?? []), resolve]);
  });

  const init = await connection.sendRequest(InitializeRequest.type, {
    processId: null,
    rootUri: pathToFileURL(dir).href,
    workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'ws' }],
    capabilities: {},
    initializationOptions: { debounceMs: 5, ...initializationOptions },
  });
  await connection.sendNotification(InitializedNotification.type, {});

  const versions = new Map<string, number>();
  const pos = (name: string, line: number, character: number) => ({ textDocument: { uri: uri(name) }, position: { line, character } });
  return {
    dir, server, connection, path, uri, write, capabilities: init.capabilities,
    open(name, text) {
      versions.set(name, 1);
      void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: uri(name), languageId: 'nasm', version: 1, text } });
    },
    change(name, text) {
      const version = (versions.get(name) ?? 1) + 1;
      versions.set(name, version);
      void connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: uri(name), version }, contentChanges: [{ text }] });
    },
    close(name) {
      void connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: uri(name) } });
    },
    nextDiagnostics: next,
    diagnostics: (name) => {
      const d = latest.get(uri(name));
      return d ? Promise.resolve(d) : next(name);
    },
    async hover(name, line, character) {
      const h: Hover | null = await connection.sendRequest(HoverRequest.type, pos(name, line, character));
      return h === null ? undefined : (h.contents as MarkupContent).value;
    },
    definition: async (name, line, character) => (await connection.sendRequest(DefinitionRequest.type, pos(name, line, character))) as Location[],
    references: async (name, line, character, includeDeclaration = true) =>
      (await connection.sendRequest(ReferencesRequest.type, { ...pos(name, line, character), context: { includeDeclaration } })) ?? [],
    prepareRename: (name, line, character) => connection.sendRequest(PrepareRenameRequest.type, pos(name, line, character)),
    rename: (name, line, character, newName) => connection.sendRequest(RenameRequest.type, { ...pos(name, line, character), newName }),
    documentSymbols: async (name) => ((await connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: uri(name) } })) ?? []) as DocumentSymbol[],
    workspaceSymbols: async (query) => ((await connection.sendRequest(WorkspaceSymbolRequest.type, { query })) ?? []) as SymbolInformation[],
    completion: async (name, line, character) => {
      const r = await connection.sendRequest(CompletionRequest.type, pos(name, line, character));
      return Array.isArray(r) ? r : r?.items ?? [];
    },
    folding: async (name) => (await connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: uri(name) } })) ?? [],
    inlayHints: async (name) => (await connection.sendRequest(InlayHintRequest.type, {
      textDocument: { uri: uri(name) }, range: { start: { line: 0, character: 0 }, end: { line: 1_000_000, character: 0 } },
    })) ?? [],
    async dispose() {
      await connection.sendRequest(ShutdownRequest.type);
      connection.dispose();
      serverConnection.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** 0-based line and column of the first occurrence of `needle` in `text` (after `after` if given). */
export function find(text: string, needle: string, after?: string): { line: number; character: number } {
  const from = after === undefined ? 0 : text.indexOf(after);
  const i = text.indexOf(needle, from < 0 ? 0 : from);
  if (i < 0) throw new Error(`'${needle}' not in the text`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

/**
 * The vtscope debug sessions and what their adapters reported (protocol.ts events, and the
 * run's cycles from `vtscope.stats`). The views, code lenses and status bar show the active
 * session's data, or the last session's after it ended.
 */
import * as vscode from 'vscode';
import { ExitStore } from './exitStore';
import { DEBUG_TYPE } from './launchDefaults';
import { EXITS_EVENT, HOLES_EVENT, parseExitsEvent, parseHolesEvent, parseStatsResponse, ProtocolError, STATS_REQUEST } from '../debug/protocol';
import { ringRecords } from './settings';

export interface TrackedSession {
  session: vscode.DebugSession;
  mode: string;
  store: ExitStore;
  running: boolean;
  /** The adapter has sent exit-log events in this session. */
  reportsExits: boolean;
  reportsHoles: boolean;
  /** A `vtscope.stats` request is under way. */
  askingStats: boolean;
  /** Events came while it was: ask again when it is answered. */
  statsStale: boolean;
}

export class SessionTracker implements vscode.Disposable {
  private readonly sessions = new Map<string, TrackedSession>();
  /** The session the views show. */
  private shown: TrackedSession | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.subscriptions = [
      this.changed,
      vscode.debug.onDidStartDebugSession((s) => this.started(s)),
      vscode.debug.onDidTerminateDebugSession((s) => this.terminated(s)),
      vscode.debug.onDidChangeActiveDebugSession((s) => this.activated(s)),
      vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => this.custom(e)),
    ];
  }

  get current(): TrackedSession | undefined {
    return this.shown;
  }

  private started(session: vscode.DebugSession): void {
    if (session.type !== DEBUG_TYPE) return;
    const mode = typeof session.configuration.mode === 'string' ? session.configuration.mode : 'native';
    const t: TrackedSession = { session, mode, store: new ExitStore(ringRecords()), running: true, reportsExits: false, reportsHoles: false, askingStats: false, statsStale: false };
    this.sessions.set(session.id, t);
    this.shown = t;
    // Shows the VM Exits and Virtualization Holes views from the first session on.
    void vscode.commands.executeCommand('setContext', 'vtscope.sessionStarted', true);
    this.changed.fire();
  }

  private terminated(session: vscode.DebugSession): void {
    const t = this.sessions.get(session.id);
    if (t === undefined) return;
    t.running = false;
    this.sessions.delete(session.id);
    this.changed.fire();
  }

  private activated(session: vscode.DebugSession | undefined): void {
    const t = session === undefined ? undefined : this.sessions.get(session.id);
    if (t === undefined || t === this.shown) return;
    this.shown = t;
    this.changed.fire();
  }

  private custom(e: vscode.DebugSessionCustomEvent): void {
    const t = this.sessions.get(e.session.id);
    if (t === undefined || (e.event !== EXITS_EVENT && e.event !== HOLES_EVENT)) return;
    try {
      if (e.event === EXITS_EVENT) {
        t.store.addExits(parseExitsEvent(e.body));
        t.reportsExits = true;
        this.askStats(t);
      } else {
        t.store.setHoles(parseHolesEvent(e.body));
        t.reportsHoles = true;
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.log.error(`debug adapter sent a malformed event: ${err.message}`);
      return;
    }
    if (t === this.shown) this.changed.fire();
  }

  /**
   * Asks the adapter for the run's cycles, which have moved on since the newest record: the
   * code lenses give each site's share of them. One request at a time; an adapter that does
   * not answer leaves the newest record's clock.
   */
  private askStats(t: TrackedSession): void {
    if (!t.running) return;
    if (t.askingStats) { t.statsStale = true; return; }
    t.askingStats = true;
    t.statsStale = false;
    Promise.resolve(t.session.customRequest(STATS_REQUEST)).then((body: unknown) => {
      const { cycles } = parseStatsResponse(body);
      if (cycles !== null && cycles > t.store.runCycles) {
        t.store.setRunCycles(cycles);
        if (t === this.shown) this.changed.fire();
      }
    }).catch((err: unknown) => {
      this.log.trace(`${STATS_REQUEST} not answered: ${err instanceof Error ? err.message : String(err)}`);
    }).finally(() => {
      t.askingStats = false;
      if (t.statsStale) this.askStats(t);
    });
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}

/**
 * The Debug Adapter Protocol server: translates requests into calls on a DebugRuntime and its
 * notifications into events. One thread per vCPU; every failure is an error response that names
 * the file, address or argument at fault.
 */
import {
  BreakpointEvent, DebugSession, Event, ExitedEvent, Handles, InitializedEvent, OutputEvent, Source, StoppedEvent, TerminatedEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { RunResult } from '../machine/machine';
import type { BreakpointOptions } from './breakpointConditions';
import { completions } from './completions';
import { ACCESS_TYPES, dataId, type DataTarget } from './dataBreakpoints';
import { EXCEPTION_FILTERS, unknownFilters } from './exceptionFilters';
import { DebugRequestError, hex8 } from './guestMemory';
import { parseLaunchConfig, type LaunchConfig } from './launchConfig';
import { EXIT_LOG_REQUEST, STATS_REQUEST, VMCS_REQUEST } from './protocol';
import type { RegisterNode } from './registers';
import { DebugRuntime, LaunchError, type BreakpointStatus, type RuntimeListener, type StopInfo } from './runtime';
import { VmmEventBatcher, VmmReports } from './vmmReports';

/** Thread THREAD_ID + k is processor k (APIC ID k). */
const THREAD_ID = 1;
/** Frame ids carry their thread: frame n of processor k is k * FRAME_ID_STRIDE + n. */
const FRAME_ID_STRIDE = 1 << 16;

/** Console lines typed after this prefix go to the guest's COM1 (with a newline) instead of being evaluated. */
const SERIAL_PREFIX = '>';

export class VtscopeDebugSession extends DebugSession {
  private runtime: DebugRuntime | undefined;
  private config: LaunchConfig | undefined;
  /** The file the guest's COM1 output goes to, if the configuration names one. */
  private serialFile: number | undefined;
  private configurationDone = false;
  /** Variables with the processor they are of (a setVariable changes that processor's registers). */
  private readonly variables = new Handles<{ nodes: RegisterNode[]; thread: number }>();
  /**
   * The processor requests without a thread or frame are about (disassemble, readMemory,
   * evaluate without a frame): the one that stopped, or the last one a request named.
   */
  private focus = 0;
  // The client's breakpoints with the ids given to them, kept to apply to a guest loaded later
  // or restarted (the ids stay the same, so stops name the breakpoints the client knows).
  private nextBreakpointId = 1;
  private readonly sourceRequests = new Map<string, ({ id: number; line: number } & BreakpointOptions)[]>();
  private functionRequests: ({ id: number; name: string } & BreakpointOptions)[] = [];
  private instructionRequests: ({ id: number; address: number } & BreakpointOptions)[] = [];
  private dataRequests: ({ id: number; dataId: string; accessType?: string } & BreakpointOptions)[] = [];
  private exceptionFilters: string[] | undefined;
  /** The VMM's exit log and holes of the current runtime, for the custom events and requests. */
  private reports: VmmReports | undefined;
  private vmmEvents: VmmEventBatcher | undefined;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  /** Runs `body` and answers with its error when it throws. */
  private guard<R extends DebugProtocol.Response>(response: R, body: () => void): void {
    try {
      body();
    } catch (e) {
      this.fail(response, e);
    }
  }

  private fail(response: DebugProtocol.Response, e: unknown): void {
    const expected = e instanceof LaunchError || e instanceof DebugRequestError;
    const message = expected ? (e as Error).message : `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    this.sendErrorResponse(response, { id: expected ? 1 : 2, format: message, variables: {}, showUser: true });
  }

  private requireRuntime(command: string): DebugRuntime {
    if (this.runtime === undefined) throw new DebugRequestError(`${command}: no guest is loaded (launch first)`);
    return this.runtime;
  }

  /** Selects in `rt` the processor of the frame or thread given, else the one in focus, and focuses it. */
  private selectThread(rt: DebugRuntime, command: string, by: { threadId?: unknown; frameId?: unknown }): void {
    let k = this.focus;
    if (by.frameId !== undefined) {
      if (!Number.isInteger(by.frameId) || (by.frameId as number) < 0) throw new DebugRequestError(`${command}: frameId must be a frame id from stackTrace, not ${JSON.stringify(by.frameId)}`);
      k = Math.floor((by.frameId as number) / FRAME_ID_STRIDE);
    } else if (by.threadId !== undefined) {
      if (!Number.isInteger(by.threadId)) throw new DebugRequestError(`${command}: threadId must be a thread id, not ${JSON.stringify(by.threadId)}`);
      k = (by.threadId as number) - THREAD_ID;
    }
    try {
      rt.select(k);
    } catch (e) {
      if (e instanceof DebugRequestError) throw new DebugRequestError(`${command}: ${e.message}`);
      throw e;
    }
    this.focus = k;
  }

  /** A handle for `nodes` of the runtime's selected processor. */
  private variablesOf(rt: DebugRuntime, nodes: RegisterNode[]): number {
    return this.variables.create({ nodes, thread: rt.cpus.indexOf(rt.cpu) });
  }

  // ---- configuration --------------------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsInstructionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      exceptionBreakpointFilters: EXCEPTION_FILTERS.map((f) => ({ filter: f.id, label: f.label, description: f.description, default: f.default })),
      supportsExceptionInfoRequest: true,
      supportsSteppingGranularity: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsDisassembleRequest: true,
      supportsRestartRequest: true,
      supportsTerminateRequest: true,
      supportsEvaluateForHovers: true,
      supportsCompletionsRequest: true,
      supportsSetVariable: true,
      supportsSetExpression: true,
      supportsStepBack: true,
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
    };
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    this.guard(response, () => {
      if (this.runtime !== undefined) throw new DebugRequestError('launch: a guest is already running in this session');
      this.config = parseLaunchConfig(args);
      this.startRuntime(this.config);
      this.sendResponse(response);
      this.sendEvent(new InitializedEvent());
      this.begin();
    });
  }

  private startRuntime(config: LaunchConfig): void {
    this.closeSerialFile();
    this.serialFile = openSerialFile(config);
    const runtime: DebugRuntime = new DebugRuntime({
      program: resolve(config.program),
      mode: config.mode,
      costModel: config.costModel,
      memVirt: config.memVirt,
      memoryMiB: config.memoryMiB,
      cpus: config.cpus,
      disks: config.disks.map((d) => ({ ...d, path: resolve(d.path) })),
      diskWrite: config.diskWrite,
      cmdline: config.args,
      serialInput: config.serialInput === undefined ? undefined : new TextEncoder().encode(config.serialInput),
    }, this.listenerFor(() => this.runtime === runtime));
    this.runtime = runtime;
    this.reports = new VmmReports(runtime.vmm, runtime.info.sourceMap);
    this.vmmEvents?.dispose();
    this.vmmEvents = new VmmEventBatcher(this.reports, (event, body) => this.sendEvent(new Event(event, body)),
      () => this.runtime === runtime && runtime.state === 'running');
    for (const w of runtime.info.warnings) this.sendEvent(new OutputEvent(`${w}\n`, 'console'));
    // Breakpoints set before: now resolved against the image, as 'changed' events.
    const statuses = [
      ...[...this.sourceRequests].flatMap(([path, bps]) => this.sourceBreakpoints(runtime.setSourceBreakpoints(path, bps), path)),
      ...runtime.setFunctionBreakpoints(this.functionRequests).map((b) => this.toBreakpoint(b)),
      ...runtime.setInstructionBreakpoints(this.instructionRequests).map((b) => this.toBreakpoint(b)),
      ...runtime.setDataBreakpoints(this.dataRequests).map((b) => ({ id: b.id, verified: b.verified, message: b.message })),
    ];
    for (const b of statuses) this.sendEvent(new BreakpointEvent('changed', b));
    if (this.exceptionFilters !== undefined) runtime.setExceptionFilters(this.exceptionFilters);
  }

  private toBreakpoint(s: BreakpointStatus, source?: DebugProtocol.Source): DebugProtocol.Breakpoint {
    return {
      id: s.id, verified: s.verified, message: s.message, source,
      line: s.line === undefined ? undefined : this.convertDebuggerLineToClient(s.line),
      instructionReference: s.address === undefined ? undefined : hex8(s.address),
    };
  }

  private sourceBreakpoints(statuses: BreakpointStatus[], path: string): DebugProtocol.Breakpoint[] {
    const source = new Source(basename(path), this.convertDebuggerPathToClient(path));
    return statuses.map((s) => this.toBreakpoint(s, source));
  }

  /** What a breakpoint looks like before there is an image to resolve it in. */
  private pending(id: number, line?: number): DebugProtocol.Breakpoint {
    return { id, verified: false, line: line === undefined ? undefined : this.convertDebuggerLineToClient(line), message: 'pending: the program is not loaded yet' };
  }

  private closeSerialFile(): void {
    if (this.serialFile !== undefined) closeSync(this.serialFile);
    this.serialFile = undefined;
  }

  /** The guest's COM1 output, where the launch configuration's `serial` sends it. */
  private serialOutput(text: string): void {
    const target = this.config?.serial ?? { to: 'console' };
    if (target.to === 'console') this.sendEvent(new OutputEvent(text, 'stdout'));
    else if (this.serialFile !== undefined) writeSync(this.serialFile, text);
  }

  /** Events of a runtime, dropped once it is no longer the session's (after a restart). */
  private listenerFor(current: () => boolean): RuntimeListener {
    return {
      stopped: (stop) => { if (current()) this.sendStopped(stop); },
      ended: (result) => { if (current()) this.sendEnded(result); },
      output: (text) => { if (current()) this.serialOutput(text); },
      log: (line) => { if (current()) this.sendEvent(new OutputEvent(line, 'console')); },
      failed: (error) => {
        if (!current()) return;
        this.sendEvent(new OutputEvent(`vtscope: internal error: ${error.stack ?? error.message}\n`, 'stderr'));
        this.sendEvent(new TerminatedEvent());
      },
    };
  }

  private sendStopped(stop: StopInfo): void {
    this.vmmEvents?.flush();
    this.variables.reset();
    this.focus = stop.thread ?? 0;
    const event = new StoppedEvent(stop.reason, THREAD_ID + this.focus, stop.exception?.details) as DebugProtocol.StoppedEvent;
    event.body.description = stop.description;
    event.body.allThreadsStopped = true;
    if (stop.breakpointIds.length > 0) event.body.hitBreakpointIds = stop.breakpointIds;
    this.sendEvent(event);
  }

  private sendEnded(result: RunResult): void {
    this.vmmEvents?.flush();
    this.vmmEvents?.dispose();
    this.sendEvent(new OutputEvent(`${result.message}\n`, 'console'));
    this.sendEvent(new ExitedEvent(result.exitCode));
    this.sendEvent(new TerminatedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.guard(response, () => {
      this.configurationDone = true;
      this.sendResponse(response);
      this.begin();
    });
  }

  /** Starts the guest, or reports the stop at its entry point. */
  private begin(): void {
    const runtime = this.runtime;
    if (runtime === undefined || !this.configurationDone) return;
    if (this.config?.stopOnEntry) this.sendStopped(runtime.entryStop());
    else runtime.continue();
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.guard(response, () => {
      const path = args?.source?.path;
      if (typeof path !== 'string') throw new DebugRequestError('setBreakpoints: missing argument source.path');
      const given: DebugProtocol.SourceBreakpoint[] = args.breakpoints ?? args.lines?.map((line) => ({ line })) ?? [];
      const file = this.convertClientPathToDebugger(path);
      const requests = given.map((b) => ({
        id: this.nextBreakpointId++, line: this.convertClientLineToDebugger(b.line), ...breakpointOptions(b, 'setBreakpoints'),
      }));
      this.sourceRequests.set(file, requests);
      response.body = {
        breakpoints: this.runtime === undefined
          ? requests.map((r) => this.pending(r.id, r.line))
          : this.sourceBreakpoints(this.runtime.setSourceBreakpoints(file, requests), file),
      };
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse,
    args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.guard(response, () => {
      if (!Array.isArray(args?.breakpoints)) throw new DebugRequestError('setFunctionBreakpoints: missing argument breakpoints');
      this.functionRequests = args.breakpoints.map((b) => ({
        id: this.nextBreakpointId++, name: String(b.name), ...breakpointOptions(b, 'setFunctionBreakpoints'),
      }));
      response.body = {
        breakpoints: this.runtime === undefined
          ? this.functionRequests.map((r) => this.pending(r.id))
          : this.runtime.setFunctionBreakpoints(this.functionRequests).map((b) => this.toBreakpoint(b)),
      };
      this.sendResponse(response);
    });
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse,
    args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.guard(response, () => {
      if (!Array.isArray(args?.breakpoints)) throw new DebugRequestError('setInstructionBreakpoints: missing argument breakpoints');
      this.instructionRequests = args.breakpoints.map((b) => ({
        id: this.nextBreakpointId++, address: parseAddress(b.instructionReference, b.offset ?? 0, 'setInstructionBreakpoints'),
        ...breakpointOptions(b, 'setInstructionBreakpoints'),
      }));
      response.body = {
        breakpoints: this.runtime === undefined
          ? this.instructionRequests.map((r) => this.pending(r.id))
          : this.runtime.setInstructionBreakpoints(this.instructionRequests).map((b) => this.toBreakpoint(b)),
      };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse,
    args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.guard(response, () => {
      if (!Array.isArray(args?.filters)) throw new DebugRequestError('setExceptionBreakpoints: missing argument filters');
      const ids = [...args.filters, ...(args.filterOptions ?? []).map((o) => o.filterId)];
      const unknown = unknownFilters(ids);
      if (unknown.length > 0) throw new DebugRequestError(`setExceptionBreakpoints: unknown filter ${unknown.join(', ')}`);
      this.runtime?.setExceptionFilters(ids);
      this.exceptionFilters = ids;
      this.sendResponse(response);
    });
  }

  // ---- execution ------------------------------------------------------------------------

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    this.guard(response, () => {
      this.requireRuntime('continue').continue();
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
    });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.guard(response, () => {
      const rt = this.requireRuntime('next');
      this.selectThread(rt, 'next', { threadId: args?.threadId });
      if (args?.granularity === 'instruction') rt.stepInstruction(true); else rt.stepLine(true);
      this.sendResponse(response);
    });
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.guard(response, () => {
      const rt = this.requireRuntime('stepIn');
      this.selectThread(rt, 'stepIn', { threadId: args?.threadId });
      if (args?.granularity === 'instruction') rt.stepInstruction(false); else rt.stepLine(false);
      this.sendResponse(response);
    });
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.guard(response, () => {
      const rt = this.requireRuntime('stepOut');
      this.selectThread(rt, 'stepOut', { threadId: args?.threadId });
      rt.stepOut();
      this.sendResponse(response);
    });
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.guard(response, () => {
      this.requireRuntime('pause').pause();
      this.sendResponse(response);
    });
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): void {
    this.guard(response, () => {
      const config = args?.arguments !== undefined ? parseLaunchConfig(args.arguments) : this.config;
      if (config === undefined) throw new DebugRequestError('restart: nothing was launched');
      this.runtime?.terminate();
      this.runtime = undefined;
      this.config = config;
      this.startRuntime(config);
      this.sendResponse(response);
      this.begin();
    });
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.runtime?.terminate();
    this.vmmEvents?.dispose();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  /** Ends the session: the connection closes; on stdio the process exits (a --port server keeps listening). */
  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.runtime?.terminate();
    this.vmmEvents?.dispose();
    this.closeSerialFile();
    this.sendResponse(response);
    this.stop();
    this.shutdown();
  }

  // ---- state ----------------------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    // One thread per processor, by APIC ID; thread THREAD_ID is processor 0.
    const rt = this.runtime;
    response.body = {
      threads: rt === undefined ? [{ id: THREAD_ID, name: 'vCPU 0 (APIC ID 0)' }] : rt.cpus.map((_, k) => ({ id: THREAD_ID + k, name: rt.threadName(k) })),
    };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.guard(response, () => {
      const rt = this.requireStoppedRuntime('stackTrace');
      this.selectThread(rt, 'stackTrace', { threadId: args?.threadId });
      const base = this.focus * FRAME_ID_STRIDE;
      const frames = rt.stackTrace();
      const start = args?.startFrame ?? 0;
      const levels = args?.levels ?? 0;
      const shown = frames.slice(start, levels > 0 ? start + levels : undefined);
      response.body = {
        totalFrames: frames.length,
        stackFrames: shown.map((f): DebugProtocol.StackFrame => ({
          id: base + f.id,
          name: f.name,
          presentationHint: f.event ? 'label' : undefined,
          source: f.source === undefined ? undefined : new Source(basename(f.source.file), this.convertDebuggerPathToClient(f.source.file)),
          line: f.source === undefined ? 0 : this.convertDebuggerLineToClient(f.source.line),
          column: f.source === undefined ? 0 : this.convertDebuggerColumnToClient(1),
          instructionPointerReference: hex8(f.address),
        })),
      };
      this.sendResponse(response);
    });
  }

  private requireStoppedRuntime(command: string): DebugRuntime {
    const rt = this.requireRuntime(command);
    if (rt.state !== 'stopped') throw new DebugRequestError(`${command}: the guest is ${rt.state === 'running' ? 'running' : 'gone'}`);
    return rt;
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    this.guard(response, () => {
      const rt = this.requireStoppedRuntime('scopes');
      const frameId = args?.frameId ?? 0;
      this.selectThread(rt, 'scopes', { frameId });
      // Registers are the processor's, the same whichever frame is selected; the Frame scope
      // is the selected frame's stack memory, where a C function's locals and arguments live.
      response.body = {
        scopes: [
          ...rt.registerGroups().map((g) => ({
            name: g.name, variablesReference: this.variablesOf(rt, g.registers), expensive: false, presentationHint: 'registers',
          })),
          { name: 'Frame', variablesReference: this.variablesOf(rt, rt.frameMemory(frameId % FRAME_ID_STRIDE)), expensive: false, presentationHint: 'locals' },
        ],
      };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.guard(response, () => {
      const held = this.variables.get(args?.variablesReference);
      if (held === undefined) throw new DebugRequestError(`variables: unknown variablesReference ${args?.variablesReference}`);
      response.body = {
        variables: held.nodes.map((n) => ({
          name: n.name,
          value: n.value,
          variablesReference: n.children === undefined ? 0 : this.variables.create({ nodes: n.children, thread: held.thread }),
          evaluateName: n.evaluateName,
          memoryReference: n.memoryReference === undefined ? undefined : hex8(n.memoryReference),
          presentationHint: n.assignName === undefined ? { attributes: ['readOnly'] } : undefined,
        })),
      };
      this.sendResponse(response);
    });
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.guard(response, () => {
      if (typeof args?.expression !== 'string') throw new DebugRequestError('evaluate: missing argument expression');
      const rt = this.requireRuntime('evaluate');
      if (args.context === 'repl' && args.expression.startsWith(SERIAL_PREFIX)) {
        rt.serialInput(new TextEncoder().encode(`${args.expression.slice(SERIAL_PREFIX.length)}\n`));
        response.body = { result: '', variablesReference: 0 };
      } else {
        if (rt.state !== 'stopped') throw new DebugRequestError('evaluate: the guest is running: pause it first');
        this.selectThread(rt, 'evaluate', { frameId: args.frameId });
        const r = rt.evaluate(args.expression);
        response.body = {
          result: r.result, variablesReference: r.children === undefined ? 0 : this.variablesOf(rt, r.children),
          memoryReference: r.memoryReference === undefined ? undefined : hex8(r.memoryReference),
        };
      }
      this.sendResponse(response);
    });
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    this.guard(response, () => {
      if (typeof args?.text !== 'string' || typeof args.column !== 'number') throw new DebugRequestError('completions: missing argument text or column');
      const symbols = this.runtime?.info.symbols.names() ?? [];
      // completions() counts from 0 and takes a 1-based column; the client says how it counts.
      const targets = completions(args.text, this.convertClientColumnToDebugger(args.column), symbols);
      response.body = { targets: targets.map((t) => ({ ...t, start: this.convertDebuggerColumnToClient(t.start! + 1) })) };
      this.sendResponse(response);
    });
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    this.guard(response, () => {
      const e = this.requireRuntime('exceptionInfo').lastStop?.exception;
      if (e === undefined) throw new DebugRequestError('exceptionInfo: the guest is not stopped on an exception');
      response.body = { exceptionId: e.id, description: e.details, breakMode: 'always', details: { message: e.details, typeName: e.name } };
      this.sendResponse(response);
    });
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.guard(response, () => {
      const address = parseAddress(args?.memoryReference, args?.offset ?? 0, 'readMemory');
      const count = args.count;
      if (!Number.isInteger(count) || count < 0) throw new DebugRequestError(`readMemory: count must be a whole number, not ${JSON.stringify(count)}`);
      const rt = this.requireStoppedRuntime('readMemory');
      this.selectThread(rt, 'readMemory', {});
      const { data, unreadable } = rt.memory.read(address, count);
      response.body = { address: hex8(address), data: Buffer.from(data).toString('base64'), unreadableBytes: unreadable };
      this.sendResponse(response);
    });
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    this.guard(response, () => {
      const address = parseAddress(args?.memoryReference, args?.offset ?? 0, 'writeMemory');
      if (typeof args.data !== 'string') throw new DebugRequestError('writeMemory: missing argument data');
      const bytes = new Uint8Array(Buffer.from(args.data, 'base64'));
      const rt = this.requireStoppedRuntime('writeMemory');
      this.selectThread(rt, 'writeMemory', {});
      const memory = rt.memory;
      if (!args.allowPartial) {
        for (let k = 0; k < bytes.length; k++) {
          const lin = (address + k) >>> 0;
          if (memory.physical(lin) === undefined) throw new DebugRequestError(`writeMemory: cannot write linear address ${hex8(lin)}: ${memory.why(lin)}`);
        }
      }
      response.body = { bytesWritten: rt.writeMemory(address, bytes) };
      this.sendResponse(response);
    });
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    this.guard(response, () => {
      const address = parseAddress(args?.memoryReference, args?.offset ?? 0, 'disassemble');
      const count = args.instructionCount;
      if (!Number.isInteger(count) || count < 0) throw new DebugRequestError(`disassemble: instructionCount must be a whole number, not ${JSON.stringify(count)}`);
      const rt = this.requireStoppedRuntime('disassemble');
      this.selectThread(rt, 'disassemble', {});
      const lines = rt.disassemble(address, args.instructionOffset ?? 0, count);
      response.body = {
        instructions: lines.map((l): DebugProtocol.DisassembledInstruction => ({
          address: hex8(l.address),
          instructionBytes: l.bytes,
          instruction: l.text,
          symbol: args.resolveSymbols === false ? undefined : l.symbol,
          location: l.location === undefined ? undefined : new Source(basename(l.location.file), this.convertDebuggerPathToClient(l.location.file)),
          line: l.location === undefined ? undefined : this.convertDebuggerLineToClient(l.location.line),
          presentationHint: l.invalid ? 'invalid' : undefined,
        })),
      };
      this.sendResponse(response);
    });
  }

  // ---- data breakpoints, changing the guest's state, reverse execution -------------------

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse,
    args: DebugProtocol.DataBreakpointInfoArguments): void {
    this.guard(response, () => {
      if (typeof args?.name !== 'string') throw new DebugRequestError('dataBreakpointInfo: missing argument name');
      const bytes = args.bytes;
      if (bytes !== undefined && !Number.isInteger(bytes)) throw new DebugRequestError(`dataBreakpointInfo: bytes must be a whole number, not ${JSON.stringify(bytes)}`);
      const rt = this.requireRuntime('dataBreakpointInfo');
      let target: DataTarget;
      try {
        if (args.variablesReference !== undefined) {
          // A variable is a register: what can be watched is the memory it points to.
          const node = this.variables.get(args.variablesReference)?.nodes.find((n) => n.name === args.name);
          if (node === undefined) throw new DebugRequestError(`no variable '${args.name}' in variablesReference ${args.variablesReference}`);
          if (node.memoryReference === undefined) {
            throw new DebugRequestError(`${node.name} is not an address: watch memory with an expression such as dword [symbol]`);
          }
          target = rt.dataTarget(hex8(node.memoryReference), bytes, true);
        } else {
          target = rt.dataTarget(args.name, bytes, args.asAddress === true);
        }
      } catch (e) {
        if (!(e instanceof DebugRequestError)) throw e;
        response.body = { dataId: null, description: e.message };
        this.sendResponse(response);
        return;
      }
      response.body = {
        dataId: dataId(target), description: rt.describeData(target), accessTypes: [...ACCESS_TYPES],
        canPersist: args.variablesReference === undefined,
      };
      this.sendResponse(response);
    });
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse,
    args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.guard(response, () => {
      if (!Array.isArray(args?.breakpoints)) throw new DebugRequestError('setDataBreakpoints: missing argument breakpoints');
      this.dataRequests = args.breakpoints.map((b) => ({
        id: this.nextBreakpointId++, dataId: String(b.dataId), accessType: b.accessType, ...breakpointOptions(b, 'setDataBreakpoints'),
      }));
      response.body = {
        breakpoints: this.runtime === undefined
          ? this.dataRequests.map((r) => this.pending(r.id))
          : this.runtime.setDataBreakpoints(this.dataRequests).map((b) => ({ id: b.id, verified: b.verified, message: b.message })),
      };
      this.sendResponse(response);
    });
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.guard(response, () => {
      const rt = this.requireStoppedRuntime('setVariable');
      if (typeof args?.value !== 'string') throw new DebugRequestError('setVariable: missing argument value');
      const held = this.variables.get(args.variablesReference);
      const node = held?.nodes.find((n) => n.name === args.name);
      if (held === undefined || node === undefined) throw new DebugRequestError(`setVariable: no variable '${args.name}' in variablesReference ${args.variablesReference}`);
      if (node.assignName === undefined) {
        throw new DebugRequestError(`setVariable: ${node.name} cannot be changed from the debugger: only the general registers, eip and eflags can`);
      }
      rt.select(held.thread);
      response.body = { value: rt.setRegister(node.assignName, args.value) };
      this.sendResponse(response);
    });
  }

  protected override setExpressionRequest(response: DebugProtocol.SetExpressionResponse, args: DebugProtocol.SetExpressionArguments): void {
    this.guard(response, () => {
      if (typeof args?.expression !== 'string') throw new DebugRequestError('setExpression: missing argument expression');
      if (typeof args.value !== 'string') throw new DebugRequestError('setExpression: missing argument value');
      const rt = this.requireStoppedRuntime('setExpression');
      this.selectThread(rt, 'setExpression', { frameId: args.frameId });
      response.body = { value: rt.setExpression(args.expression, args.value) };
      this.sendResponse(response);
    });
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.guard(response, () => {
      const rt = this.requireRuntime('stepBack');
      this.selectThread(rt, 'stepBack', { threadId: args?.threadId });
      rt.stepBack(args?.granularity !== 'instruction');
      this.sendResponse(response);
    });
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    this.guard(response, () => {
      const rt = this.requireRuntime('reverseContinue');
      this.selectThread(rt, 'reverseContinue', { threadId: args?.threadId });
      rt.reverseContinue();
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
    });
  }

  // ---- the VMM's custom requests (protocol.ts) -------------------------------------------

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    if (command !== EXIT_LOG_REQUEST && command !== STATS_REQUEST && command !== VMCS_REQUEST) {
      super.customRequest(command, response, args);
      return;
    }
    this.guard(response, () => {
      this.requireRuntime(command);
      const reports = this.reports!;
      response.body = command === EXIT_LOG_REQUEST ? reports.exitLog(args) : command === STATS_REQUEST ? reports.stats() : reports.vmcs();
      this.sendResponse(response);
    });
  }
}

/** The condition, hit condition and log message of a breakpoint of the protocol, checked to be strings. */
function breakpointOptions(b: { condition?: unknown; hitCondition?: unknown; logMessage?: unknown }, command: string): BreakpointOptions {
  const options: BreakpointOptions = {};
  for (const key of ['condition', 'hitCondition', 'logMessage'] as const) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new DebugRequestError(`${command}: ${key} must be a string, not ${JSON.stringify(v)}`);
    options[key] = v;
  }
  return options;
}

/** A memory reference ("0x00100000" or decimal) plus a byte offset, as a linear address. */
function parseAddress(reference: unknown, offset: number, command: string): number {
  if (typeof reference !== 'string') throw new DebugRequestError(`${command}: missing argument memoryReference`);
  const text = reference.trim();
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^[0-9]+$/.test(text) ? parseInt(text, 10) : NaN;
  if (!Number.isFinite(value) || value > 0xffff_ffff) throw new DebugRequestError(`${command}: '${reference}' is not an address`);
  if (!Number.isInteger(offset)) throw new DebugRequestError(`${command}: offset must be a whole number, not ${JSON.stringify(offset)}`);
  return (value + offset) >>> 0;
}

/** Opens (truncating) the file `serial` names; a file that cannot be written is a launch error naming it. */
function openSerialFile(config: LaunchConfig): number | undefined {
  if (config.serial.to !== 'file') return undefined;
  try {
    return openSync(resolve(config.serial.path), 'w');
  } catch (e) {
    throw new LaunchError(`launch: cannot write the serial output to ${config.serial.path}: ${(e as Error).message}`);
  }
}

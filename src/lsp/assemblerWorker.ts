/**
 * Assemblies in a worker thread, so that the server keeps answering hovers and completions
 * while a large kernel assembles, and so that an assembly made stale by a newer edit (or one
 * that runs away: `%rep 1000` around `%rep 1000`) can be stopped by terminating the worker.
 * The worker is the bundled server script itself, started with ASSEMBLER_WORKER as its data.
 */
import { parentPort, Worker } from 'node:worker_threads';
import { type AssemblerBackend, type AssemblyOutcome, type AssemblyRequest, Cancelled, runAssembly } from './assembly';
import { nodeFileSystem, resolveIncludePath } from './project';

export const ASSEMBLER_WORKER = 'vtscope-assembler-worker';

/** The worker's side: answers each request with its outcome. */
export function serveAssemblyRequests(): void {
  const port = parentPort;
  if (port === null) throw new Error('serveAssemblyRequests runs in a worker thread');
  port.on('message', (req: AssemblyRequest) => port.postMessage(runAssembly(req, nodeFileSystem, resolveIncludePath)));
}

interface Pending {
  resolve(outcome: AssemblyOutcome): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** What an assembly that ran out of time reports. */
function timedOut(req: AssemblyRequest, ms: number): AssemblyOutcome {
  return {
    diagnostics: [{
      severity: 'error',
      message: `assembly stopped after ${ms / 1000} s without finishing (a large %rep, or macros that expand without end?)`,
      location: { file: req.root, line: 1, column: 1 },
    }],
    symbols: [], map: [], read: { [req.root]: true }, ms,
  };
}

/** The server's side: one worker, one assembly at a time, each within `timeoutMs`. */
export class WorkerAssembler implements AssemblerBackend {
  private worker: Worker | undefined;
  private pending: Pending | undefined;

  constructor(private readonly script: string, private readonly timeoutMs: number) {}

  assemble(req: AssemblyRequest): Promise<AssemblyOutcome> {
    this.cancel();
    const worker = this.worker ?? this.spawn();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.stopWorker();
        resolve(timedOut(req, this.timeoutMs));
      }, this.timeoutMs);
      this.pending = { resolve, reject, timer };
      worker.postMessage(req);
    });
  }

  cancel(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    this.stopWorker();
    p.reject(new Cancelled('a newer edit replaced this assembly'));
  }

  dispose(): void {
    this.cancel();
    this.stopWorker();
  }

  private spawn(): Worker {
    const worker = new Worker(this.script, { workerData: ASSEMBLER_WORKER });
    worker.unref();
    worker.on('message', (outcome: AssemblyOutcome) => this.settle((p) => p.resolve(outcome)));
    worker.on('error', (e) => {
      if (this.worker === worker) this.worker = undefined;
      this.settle((p) => p.reject(e));
    });
    worker.on('exit', () => { if (this.worker === worker) this.worker = undefined; });
    this.worker = worker;
    return worker;
  }

  private settle(f: (p: Pending) => void): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    f(p);
  }

  private stopWorker(): void {
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate();
  }
}

/** Drives a DebugRuntime directly (no protocol): its events as awaitable values. */
import { DebugRuntime, type RuntimeOptions, type StopInfo } from '../../src/debug/runtime';
import type { RunResult } from '../../src/machine/machine';
import { Workdir, readelfSections, run } from '../loader/toolchain';

export type RuntimeEvent = { kind: 'stopped'; stop: StopInfo } | { kind: 'ended'; result: RunResult } | { kind: 'failed'; error: Error };

export class Driver {
  readonly rt: DebugRuntime;
  output = '';
  /** Lines logpoints printed. */
  readonly logs: string[] = [];
  private readonly queue: RuntimeEvent[] = [];
  private waiter: ((e: RuntimeEvent) => void) | undefined;

  constructor(opts: RuntimeOptions) {
    const push = (e: RuntimeEvent): void => {
      if (this.waiter !== undefined) { const w = this.waiter; this.waiter = undefined; w(e); } else this.queue.push(e);
    };
    this.rt = new DebugRuntime(opts, {
      stopped: (stop) => push({ kind: 'stopped', stop }),
      ended: (result) => push({ kind: 'ended', result }),
      output: (text) => { this.output += text; },
      log: (line) => { this.logs.push(line); },
      failed: (error) => push({ kind: 'failed', error }),
    });
  }

  /** The next event; fails the test after `limit` ms (generous: it only catches a hang). */
  next(limit = 20_000): Promise<RuntimeEvent> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no event from the runtime')), limit);
      this.waiter = (e) => { clearTimeout(timer); resolve(e); };
    });
  }

  /** The next event, which must be a stop. */
  async stopped(): Promise<StopInfo> {
    const e = await this.next();
    if (e.kind !== 'stopped') throw new Error(`expected a stop, got ${JSON.stringify(e)}`);
    return e.stop;
  }

  async ended(): Promise<RunResult> {
    const e = await this.next();
    if (e.kind !== 'ended') throw new Error(`expected the end, got ${JSON.stringify(e)}`);
    return e.result;
  }

  get pc(): number { return this.rt.pc(); }
  reg(name: string): number { return this.rt.register(name)!; }
}

/** `objdump -d`: each instruction's address, length and mnemonic (Intel syntax), and call targets. */
export function objdump(path: string): { address: number; length: number; mnemonic: string; target?: string }[] {
  const out: { address: number; length: number; mnemonic: string; target?: string }[] = [];
  for (const line of run('objdump', ['-d', '-M', 'intel', '-w', path]).split('\n')) {
    const m = /^\s+([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(\S+)(.*?)(?:<(\S+)>)?$/.exec(line);
    if (m === null) continue;
    out.push({ address: parseInt(m[1], 16), length: m[2].trim().split(' ').length, mnemonic: m[3], target: m[5] });
  }
  return out;
}

/** `ndisasm -b 32` of an ELF image's .text from `from` on: each instruction's address and text (the reference for nasm syntax). */
export function ndisasm(path: string, from: number): { address: number; text: string }[] {
  const text = readelfSections(path).find((s) => s.name === '.text')!;
  const work = new Workdir();
  try {
    const flat = work.file('text.bin');
    run('objcopy', ['-O', 'binary', '--only-section=.text', path, flat]);
    const out = run('ndisasm', ['-b', '32', '-e', String(from - text.addr), '-o', String(from), flat]);
    return out.split('\n')
      .map((line) => /^([0-9A-F]{8})\s+[0-9A-F]+\s+(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ address: parseInt(m[1], 16), text: m[2].trim() }));
  } finally {
    work.remove();
  }
}

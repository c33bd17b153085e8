// qemu-system-i386 as the reference PC: runs a Multiboot kernel and returns what
// it printed on COM1 and how it ended, for comparison with the emulator.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const QEMU = 'qemu-system-i386';

export interface QemuOptions {
  /** Guest RAM; Multiboot's mem_upper depends on it, so it must match the emulator's. */
  memoryMiB?: number;
  timeoutMs?: number;
}

export interface QemuResult {
  /** Every byte the guest sent on COM1. */
  stdout: Buffer;
  /** (v << 1) | 1 after the guest wrote v to port 0xF4; 0 after a triple fault
   *  (-no-reboot); 1 also when QEMU could not start the kernel (see stderr);
   *  null when the run was killed on timeout. */
  status: number | null;
  stderr: string;
  timedOut: boolean;
}

/** The command line of test-rigs.md, plus -no-reboot so that a triple fault ends the run. */
export function qemuArgs(imagePath: string, memoryMiB: number): string[] {
  return [
    '-kernel', imagePath,
    '-m', String(memoryMiB),
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-net', 'none',
    '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
}

export function qemuAvailable(): boolean {
  const probe = spawnSync(QEMU, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

export function runQemu(imagePath: string, { memoryMiB = 64, timeoutMs = 30_000 }: QemuOptions = {}): Promise<QemuResult> {
  if (!existsSync(imagePath)) {
    return Promise.reject(new Error(`${imagePath}: no such kernel image`));
  }
  // COM1 goes to a file: through a pipe QEMU drops characters when the reader falls behind.
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-qemu-'));
  const serial = join(dir, 'com1.bin');
  const args = qemuArgs(imagePath, memoryMiB).map((a) => (a === 'stdio' ? `file:${serial}` : a));
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`cannot run ${QEMU} on ${imagePath}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = existsSync(serial) ? readFileSync(serial) : Buffer.alloc(0);
      rmSync(dir, { recursive: true, force: true });
      resolve({
        stdout,
        status: timedOut ? null : code,
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
  });
}

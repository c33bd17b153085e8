// qemu-system-i386 as the reference PC: runs a Multiboot kernel and returns what
// it printed on COM1 and how it ended, for comparison with the emulator.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
  return new Promise((resolve, reject) => {
    // stdin is /dev/null: QEMU's serial backend must not read the test's terminal.
    const child = spawn(QEMU, qemuArgs(imagePath, memoryMiB), { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${QEMU} on ${imagePath}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(stdout),
        status: timedOut ? null : code,
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
  });
}

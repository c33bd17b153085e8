/**
 * qemu-system-i386 for the device tests (CGA, keyboard, IDE): COM1 goes to a file rather than
 * a pipe (through a pipe QEMU drops characters when the reader falls behind, after a few
 * retries of a full pipe), extra arguments such as `-drive`, and the human monitor on a unix
 * socket for `sendkey` while the guest runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QEMU, qemuArgs } from './qemu';

export interface QemuProbeOptions {
  /** Arguments after the usual ones (qemu.ts qemuArgs), e.g. `-drive file=...`. */
  args?: string[];
  /** Called as COM1 output arrives, with a way to send monitor commands (a monitor is started only with this). */
  onSerial?: (serialSoFar: string, monitor: (command: string) => void) => void;
  timeoutMs?: number;
}

export interface QemuProbeResult {
  serial: string;
  /** QEMU's exit status: (v << 1) | 1 after isa-debug-exit, 0 after a reset with -no-reboot; null on timeout. */
  status: number | null;
}

export async function runQemuProbe(image: Uint8Array, opts: QemuProbeOptions = {}): Promise<QemuProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vtscope-qemu-'));
  const kernel = join(dir, 'kernel.bin'), serialPath = join(dir, 'serial.txt'), socketPath = join(dir, 'monitor.sock');
  writeFileSync(kernel, image);
  writeFileSync(serialPath, '');
  const args = qemuArgs(kernel, 64).map((a) => (a === 'stdio' ? `file:${serialPath}` : a));
  if (opts.onSerial !== undefined) args[args.indexOf('-monitor') + 1] = `unix:${socketPath},server=on,wait=off`;
  args.push(...(opts.args ?? []));
  try {
    return await new Promise<QemuProbeResult>((resolve, reject) => {
      const child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      let socket: Socket | undefined;
      const pending: string[] = [];
      const monitor = (command: string): void => {
        if (socket === undefined) pending.push(command);
        else socket.write(`${command}\n`);
      };
      const poll = opts.onSerial === undefined ? undefined : setInterval(() => {
        if (socket === undefined && existsSync(socketPath)) {
          const s = createConnection(socketPath);
          s.on('error', () => {});
          s.on('connect', () => { socket = s; for (const c of pending.splice(0)) s.write(`${c}\n`); });
        }
        opts.onSerial!(readFileSync(serialPath, 'latin1'), monitor);
      }, 20);
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      child.on('error', (e) => reject(new Error(`cannot run ${QEMU}: ${e.message}`)));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (poll !== undefined) clearInterval(poll);
        socket?.destroy();
        if (code === null && signal !== 'SIGKILL') reject(new Error(`${QEMU} died of ${signal}: ${stderr}`));
        else resolve({ serial: readFileSync(serialPath, 'latin1'), status: code });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

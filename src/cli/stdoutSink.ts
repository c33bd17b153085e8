/**
 * The guest's COM1 bytes on their way to a file descriptor: buffered (by line when the
 * descriptor is a terminal), written with blocking semantics even when the descriptor is a
 * non-blocking pipe, so no byte is lost and everything is out before the process exits.
 */
import { isatty } from 'node:tty';
import { writeSync } from 'node:fs';

const CAPACITY = 64 * 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

export class StdoutSink {
  private readonly buffer = Buffer.allocUnsafe(CAPACITY);
  private length = 0;
  private closed = false;
  private readonly lineBuffered: boolean;

  constructor(private readonly fd: number) {
    this.lineBuffered = isatty(fd);
  }

  push(byte: number): void {
    this.buffer[this.length++] = byte;
    if (this.length === CAPACITY || (this.lineBuffered && byte === 0x0a)) this.flush();
  }

  flush(): void {
    if (this.length > 0 && !this.closed) writeAll(this.fd, this.buffer.subarray(0, this.length), () => { this.closed = true; });
    this.length = 0;
  }
}

/** Writes every byte, waiting out EAGAIN; a reader that went away (EPIPE) ends the output quietly. */
export function writeAll(fd: number, bytes: Uint8Array, onClosed: () => void = () => {}): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1);
      } else if (code === 'EPIPE') {
        onClosed();
        return;
      } else {
        throw e;
      }
    }
  }
}

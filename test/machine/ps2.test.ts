/**
 * The 8042 keyboard controller and the PS/2 keyboard against QEMU 7.2: a script of controller
 * and keyboard commands gives the same bytes under both; text typed with `typeKeys` arrives
 * through IRQ 1 as the scan codes QEMU produces for the same keys sent with the monitor's
 * `sendkey`, and as the IBM set 1 and set 2 tables give them; 0xFE on port 0x64 resets.
 */
import { describe, expect, it } from 'vitest';
import { I8042 } from '../../src/machine/i8042';
import { Machine } from '../../src/machine/machine';
import { KEY_INTERVAL_NS, TYPING_DELAY_NS } from '../../src/machine/ps2Keyboard';
import { keyEventsFor, UntypableCharacterError } from '../../src/machine/scanCodes';
import { qemuAvailable } from '../support/qemu';
import { runQemuProbe } from '../support/qemuDevices';
import { probeImage } from './probeKernel';

type Op = ['out', number, number] | ['in', number] | ['nl'];
const out = (port: number, v: number): Op => ['out', port, v];
const inp = (port: number): Op => ['in', port];
const NL: Op = ['nl'];

/**
 * Controller commands and keyboard commands (ports 0x64 and 0x60), each value read printed.
 * Status reads are masked with 0xF3: bit 3 (last write was a command) and bit 2 (system flag
 * from the command byte) follow the 8042 reference here, while QEMU leaves both set.
 */
const SCRIPT: Op[] = [
  inp(0x64), inp(0x60), out(0x64, 0xaa), inp(0x64), inp(0x60), inp(0x64), NL,
  out(0x64, 0x20), inp(0x60), out(0x64, 0xab), inp(0x60), out(0x64, 0xa9), inp(0x60), out(0x64, 0xc0), inp(0x60), NL,
  out(0x64, 0xad), out(0x64, 0x20), inp(0x60), out(0x64, 0xae), out(0x64, 0x20), inp(0x60),
  out(0x64, 0xa8), out(0x64, 0x20), inp(0x60), out(0x64, 0xa7), out(0x64, 0x20), inp(0x60), NL,
  out(0x64, 0xd2), out(0x60, 0x5a), inp(0x64), inp(0x60), inp(0x64), inp(0x60),
  out(0x64, 0xd3), out(0x60, 0x33), inp(0x64), inp(0x60), inp(0x64), NL,
  out(0x60, 0xff), inp(0x64), inp(0x60), inp(0x64), inp(0x60), inp(0x64), inp(0x60), NL,
  out(0x60, 0xf2), inp(0x60), inp(0x60), inp(0x60), out(0x60, 0xf0), inp(0x60), out(0x60, 0x00), inp(0x60), inp(0x60), NL,
  out(0x60, 0xed), inp(0x60), out(0x60, 0x07), inp(0x60), out(0x60, 0xee), inp(0x60), out(0x60, 0xf4), inp(0x60),
  out(0x60, 0xf5), inp(0x60), out(0x60, 0xf6), inp(0x60), out(0x60, 0xf3), inp(0x60), out(0x60, 0x00), inp(0x60),
  out(0x60, 0xaa), inp(0x60), NL,
  // Without translation: raw set 2 replies, then scan code sets 1 and 3 read back.
  out(0x64, 0x60), out(0x60, 0x20), out(0x60, 0xf2), inp(0x60), inp(0x60), inp(0x60),
  out(0x60, 0xf0), inp(0x60), out(0x60, 0x00), inp(0x60), inp(0x60),
  out(0x60, 0xf0), inp(0x60), out(0x60, 0x01), inp(0x60), out(0x60, 0xf0), inp(0x60), out(0x60, 0x00), inp(0x60), inp(0x60), NL,
  // With translation the reply byte is translated too (1 -> 43, 3 -> 3F).
  out(0x64, 0x60), out(0x60, 0x61), out(0x60, 0xf0), inp(0x60), out(0x60, 0x00), inp(0x60), inp(0x60),
  out(0x60, 0xf0), inp(0x60), out(0x60, 0x03), inp(0x60), out(0x60, 0xf0), inp(0x60), out(0x60, 0x00), inp(0x60), inp(0x60),
  out(0x60, 0xf0), inp(0x60), out(0x60, 0x02), inp(0x60), NL,
  out(0x64, 0xd0), inp(0x60), out(0x64, 0xd1), out(0x60, 0xcf), out(0x64, 0xd0), inp(0x60), out(0x64, 0x20), inp(0x60), NL,
];

function scriptProbe(ops: Op[]): Uint8Array {
  const body = ops.map((op) => {
    if (op[0] === 'nl') return '  call nl';
    if (op[0] === 'out') return `  mov al, ${op[2]}\n  out ${op[1]}, al`;
    const mask = op[1] === 0x64 ? '  and al, 0xf3\n' : '';
    return `  in al, ${op[1]}\n${mask}  call hex8\n  call space`;
  }).join('\n');
  return probeImage(`main:\n${body}\n  jmp exit\n`);
}

/**
 * Remaps the PICs to 0x20/0x28, takes IRQ 1 only, writes `commandByte` to the controller and
 * collects `count` bytes from port 0x60 in the IRQ 1 handler (which checks the status register
 * first), sleeping in HLT between them; prints "ready" before and the bytes after.
 */
function typingProbe(count: number, commandByte = 0x61, keyboardCommands: number[] = []): Uint8Array {
  const commands = keyboardCommands.map((c) => `  mov al, ${c}\n  out 0x60, al\n  call wait_obf\n  in al, 0x60`).join('\n');
  return probeImage(`
main:
  set_gate 0x21, irq1
  remap_pics 0xfd                ; only IRQ 1 unmasked
  mov al, 0x60
  out 0x64, al
  mov al, ${commandByte}
  out 0x60, al
${commands}
  mov esi, ready
  call puts
  sti
.wait:
  hlt
  cmp dword [count], ${count}
  jb .wait
  cli
  mov esi, codes
  mov ecx, ${count}
.print:
  lodsb
  call hex8
  call space
  loop .print
  call nl
  jmp exit

wait_obf:
  in al, 0x64
  test al, 1
  jz wait_obf
  ret

irq1:
  push eax
  push ebx
  in al, 0x64
  test al, 1
  jz .done
  in al, 0x60
  mov ebx, [count]
  mov [codes + ebx], al
  inc dword [count]
.done:
  mov al, 0x20
  out 0x20, al
  pop ebx
  pop eax
  iret

ready: db 'ready', 10, 0
count: dd 0
codes: times 64 db 0
`);
}

function runTyping(image: Uint8Array, text: string): string {
  const m = new Machine();
  let serial = '';
  m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
  m.load(image);
  m.typeKeys(text);
  const r = m.run({ maxInstructions: 50_000_000 });
  if (r.haltReason !== 'exit') throw new Error(`${r.message}\n${serial}`);
  return serial;
}

/** "Hi 2!" and Enter in IBM scan code set 1: Shift around H and !, make then make | 0x80. */
const HI_SET1 = '2A 23 A3 AA 17 97 39 B9 03 83 2A 02 82 AA 1C 9C';

describe('8042 and keyboard commands', () => {
  it.skipIf(!qemuAvailable())('answer as QEMU does (status bits 2 and 3 aside)', async () => {
    const image = scriptProbe(SCRIPT);
    const qemu = await runQemuProbe(image);
    const m = new Machine();
    let ours = '';
    m.onSerialOutput = (b) => { ours += String.fromCharCode(b); };
    m.load(image);
    expect(m.run({ maxInstructions: 10_000_000 }).haltReason).toBe('exit');
    expect(qemu.status).toBe(1);
    expect(ours).toBe(qemu.serial);
  });

  it('keep status bit 3 for the port written last and bit 2 for the command byte (8042 reference)', () => {
    const m = new Machine();
    expect(m.io.read(0x64, 1)).toBe(0x1c);
    m.io.write(0x64, 1, 0x60);
    m.io.write(0x60, 1, 0x41);
    expect(m.io.read(0x64, 1)).toBe(0x10);
    m.io.write(0x64, 1, 0xaa);
    expect(m.io.read(0x64, 1)).toBe(0x1d);
    expect(m.io.read(0x60, 1)).toBe(0x55);
  });
});

describe('typed text', () => {
  it('arrives through IRQ 1 as scan code set 1 (IBM table)', () => {
    expect(runTyping(typingProbe(16), 'Hi 2!\n')).toBe(`ready\n${HI_SET1} \n`);
  });

  it.skipIf(!qemuAvailable())('gives the scan codes QEMU gives for the same keys from the monitor', async () => {
    const image = typingProbe(16);
    let sent = false;
    const qemu = await runQemuProbe(image, {
      onSerial: (serial, monitor) => {
        if (sent || !serial.includes('ready')) return;
        sent = true;
        for (const key of ['shift-h', 'i', 'spc', '2', 'shift-1', 'ret']) monitor(`sendkey ${key}`);
      },
    });
    expect(qemu.status).toBe(1);
    expect(runTyping(image, 'Hi 2!\n')).toBe(qemu.serial);
  });

  it('is scan code set 2 without translation, and set 1 once the keyboard is switched to it', () => {
    // a: 1C, F0 1C; Enter: 5A, F0 5A; | is Shift and backslash: 12 5D F0 5D F0 12.
    expect(runTyping(typingProbe(12, 0x01), 'a\n|')).toBe('ready\n1C F0 1C 5A F0 5A 12 5D F0 5D F0 12 \n');
    // F0 01 selects set 1 (two ACKs read by the probe before typing starts).
    expect(runTyping(typingProbe(4, 0x01, [0xf0, 0x01]), 'a\n')).toBe('ready\n1E 9E 1C 9C \n');
  });

  it('starts TYPING_DELAY_NS after typing and goes one key event per KEY_INTERVAL_NS', () => {
    const irq: boolean[] = [];
    const kbc = new I8042((level) => irq.push(level), () => {}, () => {});
    const [data, status] = [kbc.ports[0].handler, kbc.ports[1].handler];
    kbc.typeKeys('a', 0);
    expect(kbc.nextEventNs()).toBe(TYPING_DELAY_NS);
    kbc.advanceTo(TYPING_DELAY_NS - 1);
    expect(status.read(0x64, 1) & 1).toBe(0);
    kbc.advanceTo(TYPING_DELAY_NS);
    expect(irq).toEqual([true]);
    expect(data.read(0x60, 1)).toBe(0x1e);
    expect(irq).toEqual([true, false]);
    expect(kbc.nextEventNs()).toBe(TYPING_DELAY_NS + KEY_INTERVAL_NS);
    kbc.advanceTo(TYPING_DELAY_NS + KEY_INTERVAL_NS - 1);
    expect(status.read(0x64, 1) & 1).toBe(0);
    kbc.advanceTo(TYPING_DELAY_NS + KEY_INTERVAL_NS);
    expect(data.read(0x60, 1)).toBe(0x9e);
    expect(kbc.nextEventNs()).toBe(Infinity);
  });

  it('waits while the keyboard is disabled (F5) and goes on when it is enabled (F4)', () => {
    const kbc = new I8042(() => {}, () => {}, () => {});
    const data = kbc.ports[0].handler;
    data.write(0x60, 1, 0xf5);
    expect(data.read(0x60, 1)).toBe(0xfa);
    kbc.typeKeys('z', 0);
    expect(kbc.nextEventNs()).toBe(Infinity);
    kbc.advanceTo(5 * TYPING_DELAY_NS);
    expect(kbc.registers().keysWaiting).toBe(2);
    data.write(0x60, 1, 0xf4);
    expect(data.read(0x60, 1)).toBe(0xfa);
    kbc.advanceTo(5 * TYPING_DELAY_NS);
    expect(data.read(0x60, 1)).toBe(0x2c);
  });

  it('refuses characters no key types, naming them', () => {
    expect(() => keyEventsFor('ok é')).toThrow(UntypableCharacterError);
    expect(() => keyEventsFor('ok é')).toThrow(/"é" \(U\+00E9\)/);
    expect(keyEventsFor('A')).toEqual([
      { code: 0x12, down: true }, { code: 0x1c, down: true }, { code: 0x1c, down: false }, { code: 0x12, down: false },
    ]);
  });

  it('a snapshot taken before typing forgets the keys', () => {
    const m = new Machine();
    const before = m.saveState();
    m.typeKeys('abc');
    expect(m.i8042.registers().keysWaiting).toBe(6);
    m.loadState(before);
    expect(m.i8042.registers().keysWaiting).toBe(0);
  });
});

describe('pulsing the reset line', () => {
  const image = probeImage(`
main:
  mov al, 'x'
  call putc
  mov al, 0xfe
  out 0x64, al
.spin:
  jmp .spin
`);

  it('0xFE on port 0x64 resets the machine, which ends the run', () => {
    const m = new Machine();
    let serial = '';
    m.onSerialOutput = (b) => { serial += String.fromCharCode(b); };
    m.load(image);
    const r = m.run({ maxInstructions: 1_000_000 });
    expect(r.haltReason).toBe('reset');
    expect(r.exitCode).toBe(8);
    expect(serial).toBe('x');
  });

  it.skipIf(!qemuAvailable())('as QEMU resets (and with -no-reboot ends with status 0)', async () => {
    const qemu = await runQemuProbe(image);
    expect(qemu).toEqual({ serial: 'x', status: 0 });
  });
});

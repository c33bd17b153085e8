/**
 * The "Devices" scope: the PC's COM1 16550A, the 8259A pair and PIT channel 0 as they are,
 * read through the devices' own getters (reading them through their ports would change them:
 * an IIR read clears THRE, OCW3 selects IRR or ISR, a count read latches).
 */
import type { Machine } from '../machine/machine';
import type { PicRegisters } from '../machine/pic8259';
import { PIT_HZ } from '../machine/pit8254';
import type { RegisterNode } from './registers';

const hex2 = (v: number): string => `0x${(v & 0xff).toString(16).padStart(2, '0')}`;

/** "0x11 (IR0 IR4)": an 8-bit request register and the inputs set in it. */
function irBits(v: number): string {
  const set = [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => (v & (1 << k)) !== 0).map((k) => `IR${k}`);
  return `${hex2(v)} (${set.length === 0 ? 'none' : set.join(' ')})`;
}

function pic(name: string, r: PicRegisters, firstIrq: number): RegisterNode {
  return {
    name, value: `vectors ${hex2(r.vectorBase)}-${hex2(r.vectorBase + 7)}, IRQ ${firstIrq}-${firstIrq + 7}`,
    children: [
      { name: 'IRR', value: irBits(r.irr) },
      { name: 'ISR', value: irBits(r.isr) },
      { name: 'IMR', value: irBits(r.imr) },
      { name: 'vector base', value: hex2(r.vectorBase) },
    ],
  };
}

const PIT_MODES = ['interrupt on terminal count', 'hardware one-shot', 'rate generator', 'square wave',
  'software strobe', 'hardware strobe'];
const PARITY = ['none', 'odd', 'none', 'even', 'none', 'mark', 'none', 'space'];

export function deviceScope(machine: Machine): RegisterNode[] {
  const u = machine.uart.registers();
  const bits = 5 + (u.lcr & 3), stop = (u.lcr & 4) !== 0 ? 2 : 1, parity = PARITY[(u.lcr >>> 3) & 7];
  const { master, slave } = machine.pic.registers();
  const ch0 = machine.pit.channel(0);
  return [
    {
      name: 'UART (COM1 0x3f8, IRQ 4)',
      value: `${u.divisor === 0 ? 'no rate' : `${Math.floor(115200 / u.divisor)} baud`} ${bits}${parity[0].toUpperCase()}${stop}`,
      children: [
        { name: 'IER', value: hex2(u.ier) }, { name: 'IIR', value: hex2(u.iir) }, { name: 'LCR', value: hex2(u.lcr) },
        { name: 'MCR', value: hex2(u.mcr) }, { name: 'LSR', value: hex2(u.lsr) }, { name: 'MSR', value: hex2(u.msr) },
        { name: 'SCR', value: hex2(u.scr) }, { name: 'FCR', value: hex2(u.fcr) },
        { name: 'divisor', value: String(u.divisor) },
        { name: 'received, not read', value: `${u.rxCount} in the receiver, ${u.hostCount} waiting to enter it` },
      ],
    },
    pic('PIC master (0x20)', master, 0),
    pic('PIC slave (0xa0)', slave, 8),
    {
      name: 'PIT channel 0 (0x40, IRQ 0)',
      value: `mode ${ch0.mode} (${PIT_MODES[ch0.mode]}), count ${ch0.count} of ${ch0.initialCount}`,
      children: [
        { name: 'mode', value: `${ch0.mode} (${PIT_MODES[ch0.mode]})${ch0.bcd ? ', BCD' : ''}` },
        { name: 'initial count', value: `${ch0.initialCount} (${(PIT_HZ / ch0.initialCount).toFixed(2)} Hz)` },
        { name: 'count', value: String(ch0.count) },
        { name: 'OUT', value: ch0.out ? '1' : '0' },
      ],
    },
  ];
}

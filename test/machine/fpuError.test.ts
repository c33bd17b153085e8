/**
 * x87 errors with CR0.NE clear, as a PC reports them (SDM Vol. 1, 8.7 and appendix D): the
 * next waiting instruction finds the unmasked exception pending and asserts FERR#, which the
 * chipset turns into IRQ 13; the handler's write to port 0xF0 lowers IRQ 13 and asserts
 * IGNNE#, under which the error is ignored until FNCLEX clears it. With CR0.NE set the same
 * error is #MF. Every mode gives the same, as the VMMs pass IRQ 13 and port 0xF0 on.
 *
 * QEMU 7.2 is no oracle here: it aborts on the first FERR# (qemu_irq_raise outside the I/O
 * thread lock, QEMU issue 1808, fixed after 8.0). The expected lines are worked out by hand:
 * 1 / 0 with ZM clear (FCW 0x037B) sets ZE and ES (and B) and leaves both operands, so TOP is
 * 6 after FLD1, FLDZ: status 0xB084; one more FLD1, executed under IGNNE#, makes TOP 5:
 * 0xA884; masked, FDIVP pops and only ZE stays: 0x3804.
 */
import { describe, expect, it } from 'vitest';
import type { MemVirtName } from '../../src/vmm/hw/memoryVirtualization';
import { createVmm, type ModeName } from '../../src/vmm/vmm';
import { probeImage } from './probeKernel';

const FERR_KERNEL = probeImage(`
main:
  remap_pics 0xfb
  mov al, 0xdf               ; slave: IRQ 13 only
  out 0xa1, al
  set_gate 0x2d, irq13
  set_gate 16, mf_handler
  title 'cr0'
  mov eax, cr0
  call hex32
  call nl
  sti

  title 'ferr'
  call divide_by_zero
  fwait
  jmp .a
.a:
  mov eax, [irqs]
  call hex32
  call nl

  title 'ignne'
  mov dword [clear], 0       ; the handler acknowledges on port 0xF0 but leaves the error
  call divide_by_zero
  fwait
  jmp .b
.b:
  fwait                      ; IGNNE#: ignored
  jmp .c
.c:
  fld1                       ; a waiting instruction: ignored too
  jmp .d
.d:
  mov eax, [irqs]
  call hex32
  call space
  fnstsw ax
  call hex32
  call nl
  fnclex                     ; FERR# drops, and IGNNE# with it
  mov dword [clear], 1
  call divide_by_zero
  fwait
  jmp .e
.e:
  mov eax, [irqs]
  call hex32
  call nl

  title 'masked'
  fninit                     ; every exception masked: nothing pending
  fld1
  fldz
  fdivp st1, st0
  fwait
  jmp .f
.f:
  mov eax, [irqs]
  call hex32
  call space
  fnstsw ax
  call hex32
  call nl

  title 'port'
  in al, 0xf0
  call hex8
  call nl

  title 'ne'
  mov eax, cr0
  or eax, 0x20               ; CR0.NE: native #MF
  mov cr0, eax
  call divide_by_zero
  fwait
  jmp .g
.g:
  mov eax, [irqs]
  call hex32
  call space
  mov eax, [mfs]
  call hex32
  call nl
  jmp exit

; 1 / 0 with the zero-divide exception unmasked: ZE and ES set, pending
divide_by_zero:
  fninit
  fldcw [cw]
  fld1
  fldz
  fdivp st1, st0
  ret

irq13:
  push eax
  inc dword [irqs]
  fnstsw ax
  push eax
  mov al, 'I'
  call putc
  pop eax
  call hex32
  call nl
  out 0xf0, al
  cmp dword [clear], 0
  je .keep
  fnclex
.keep:
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  pop eax
  iret

mf_handler:
  push eax
  inc dword [mfs]
  fnstsw ax
  push eax
  mov al, 'M'
  call putc
  pop eax
  call hex32
  call nl
  fnclex
  pop eax
  iret

cw: dw 0x037b
align 4
irqs: dd 0
mfs: dd 0
clear: dd 1
`);

const EXPECTED = [
  '== cr0', '00000011',               // the Multiboot state: PE and ET, NE clear
  '== ferr', 'I0000B084', '00000001',   // IRQ 13 after the FWAIT, the handler clears the error
  '== ignne', 'I0000B084',            // IRQ 13; the handler acknowledges but leaves the error:
  '00000002 0000A884',                // the next FWAIT and FLD1 are let through, no IRQ 13
  'I0000B084', '00000003',            // FNCLEX dropped IGNNE#: the next error raises IRQ 13 again
  '== masked', '00000003 00003804',   // a masked exception is no error
  '== port', 'FF',                    // reads of port 0xF0
  '== ne', 'M0000B084', '00000003 00000001', // CR0.NE: #MF instead
  '',
].join('\n');

function run(mode: ModeName, memVirt?: MemVirtName): { out: string; haltReason: string; exits: string[] } {
  const vmm = createVmm(mode, { memVirt });
  let out = '';
  vmm.machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
  vmm.load(FERR_KERNEL);
  const { haltReason } = vmm.run({ maxInstructions: 10_000_000 });
  const exits = vmm.log.records().filter((r) => r.qualification.includes('#MF')).map((r) => r.qualification);
  return { out, haltReason, exits };
}

describe('FERR#, IRQ 13 and port 0xF0', () => {
  const modes: [ModeName, MemVirtName | undefined][] = [['native', undefined], ['trap', undefined], ['bt', undefined], ['hw', 'shadow'], ['hw', 'ept']];
  for (const [mode, memVirt] of modes) {
    it(`reports an x87 error with CR0.NE clear as IRQ 13 under ${mode}${memVirt === undefined ? '' : ` (${memVirt})`}`, () => {
      const r = run(mode, memVirt);
      expect(r.out).toBe(EXPECTED);
      expect(r.haltReason).toBe('exit');
    });
  }

  it('shows under hw how the VMM turns the #MF that VMX forces (CR0.NE fixed to 1) into FERR#', () => {
    const ferr = "#MF with the guest's CR0.NE clear: FERR# raised (IRQ 13), FWAIT carried out";
    const ignored = "#MF with the guest's CR0.NE clear: IGNNE# asserted,";
    expect(run('hw', 'ept').exits).toEqual([
      ferr,                                        // == ferr
      ferr, `${ignored} FWAIT carried out`,        // == ignne: the second FWAIT and
      `${ignored} x87 opcode 0xd9 carried out`,    // FLD1 (D9 E8) under IGNNE#, then after FNCLEX
      ferr,
      '#MF: the guest has CR0.NE set, injected',   // == ne
    ]);
  });
});

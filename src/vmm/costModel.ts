/**
 * The cost model: emulated cycles for every retired guest instruction (one table shared by
 * all modes) and for every event a VMM handles (named presets for processor generations).
 * Everything is an integer and depends only on what the guest did, so the same image gives
 * the same cycle count on any host.
 *
 * Where a number comes from shared/reference/x86-virt-facts.md section 7 its source is
 * named; `unverified` marks numbers nobody has checked against the primary source, and the
 * model defaults that no publication gives (tunable, not citations).
 */
import type { Insn } from '../cpu/insn';

/** One per-event cost and where it comes from. */
export interface Cost {
  cycles: number;
  source: string;
  unverified: boolean;
}

/** Per-event costs (DESIGN.md, "Cost model"). */
export interface EventCosts {
  /** A fault from the deprivileged guest into the VMM and the IRET back (trap, bt). */
  trapRoundTrip: Cost;
  /** Decoding and emulating one privileged instruction, on top of the round trip. */
  emulateInstruction: Cost;
  /** Building an exception or interrupt frame for the guest through its virtual IDT. */
  reflect: Cost;
  /** int 0x82 into the VMM, the dispatch and the return (pv). */
  hypercall: Cost;
  /** A hidden page fault: walking the guest page tables and filling a shadow entry, round trip included. */
  shadowPageFault: Cost;
  /** A guest write to a write-protected page-table page: emulated and the shadow brought in line. */
  pteWrite: Cost;
  /** VM exit plus VM entry (hw). */
  vmExitEntry: Cost;
  /** Translating one guest instruction (bt). */
  translatePerInstruction: Cost;
  /** A call from translated code into the VMM (bt). */
  callout: Cost;
}

export interface CostPreset {
  name: string;
  description: string;
  /** Hardware nested paging (EPT) is available: `hw` defaults to it. */
  ept: boolean;
  events: EventCosts;
}

const MODEL_DEFAULT = 'vtscope model default';

function model(cycles: number): Cost {
  return { cycles, source: MODEL_DEFAULT, unverified: true };
}

/** Software-virtualization costs of one generation, scaled from a trap round trip (model defaults). */
function software(roundTrip: number): Omit<EventCosts, 'vmExitEntry'> {
  return {
    trapRoundTrip: model(roundTrip),
    emulateInstruction: model(Math.round(roundTrip / 4)),
    reflect: model(Math.round(roundTrip / 3)),
    hypercall: model(Math.round(roundTrip * 0.9)),
    shadowPageFault: model(roundTrip * 3),
    pteWrite: model(roundTrip * 2),
    translatePerInstruction: model(Math.round(roundTrip / 20)),
    callout: model(Math.round(roundTrip / 25)),
  };
}

export const COST_PRESETS: readonly CostPreset[] = [
  {
    name: 'p4-2006',
    description: 'Pentium 4 with first-generation VT-x (2006): expensive exits, no nested paging',
    ept: false,
    events: {
      ...software(800),
      vmExitEntry: { cycles: 2400, source: 'Adams and Agesen, ASPLOS 2006 (Pentium 4 VM entry)', unverified: true },
    },
  },
  {
    name: 'core-2006',
    description: 'Core with VT-x (2006): cheaper exits, no nested paging',
    ept: false,
    events: {
      ...software(500),
      vmExitEntry: { cycles: 940, source: 'Adams and Agesen, ASPLOS 2006 (Core VM entry)', unverified: true },
    },
  },
  {
    name: 'nehalem-ept',
    description: 'Nehalem Xeon X5570 with EPT (2009): a modern core with nested paging',
    ept: true,
    events: {
      ...software(400),
      vmExitEntry: { cycles: 2000, source: 'Landau et al., SplitX, WIOV 2011 (KVM with EPT, direct cost)', unverified: false },
    },
  },
];

export const DEFAULT_COST_PRESET = 'p4-2006';

export function findCostPreset(name: string): CostPreset | undefined {
  return COST_PRESETS.find((p) => p.name === name);
}

// ---- per-instruction costs -------------------------------------------------------------

/**
 * Cycles per execution by opcode (0x00-0xFF, 0x100 + b for 0F b); 1 where not listed. Model
 * defaults in the spirit of P6-family latencies, not measurements.
 */
const OP_COST = new Uint16Array(512).fill(1);
/** Opcode groups whose members differ (keyed op * 8 + ModR/M.reg). */
const GROUP_COST = new Map<number, number>();

function set(ops: readonly number[], cycles: number): void { for (const op of ops) OP_COST[op] = cycles; }
function setGroup(op: number, regs: readonly number[], cycles: number): void {
  for (const r of regs) GROUP_COST.set(op * 8 + r, cycles);
}

set([0x69, 0x6b, 0x1af], 4);                                   // IMUL
setGroup(0xf6, [4, 5], 4); setGroup(0xf7, [4, 5], 4);          // MUL, IMUL
setGroup(0xf6, [6, 7], 25); setGroup(0xf7, [6, 7], 25);        // DIV, IDIV
set([0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0x6c, 0x6d, 0x6e, 0x6f], 100);  // port I/O: an uncached bus cycle
set([0xcc, 0xcd, 0xce], 50);                                   // INT3, INT n, INTO
set([0xcf], 40);                                               // IRET
set([0x9a, 0xea, 0xca, 0xcb], 20);                             // far CALL, JMP, RET
setGroup(0xff, [3, 5], 20);                                    // far CALL, JMP through memory
set([0x8e, 0x07, 0x17, 0x1f, 0x1a1, 0x1a9, 0xc4, 0xc5, 0x1b2, 0x1b4, 0x1b5], 8);  // segment loads
set([0x9c], 2); set([0x9d], 10);                               // PUSHF, POPF
set([0xfa, 0xfb], 5);                                          // CLI, STI
set([0x120, 0x121, 0x122, 0x123], 20);                         // MOV CRn, DRn
setGroup(0x101, [0, 1, 2, 3], 20); setGroup(0x100, [0, 1, 2, 3], 20);  // SGDT .. LTR
setGroup(0x101, [4, 6], 10); set([0x106], 10);                 // SMSW, LMSW, CLTS
setGroup(0x101, [7], 30);                                      // INVLPG
set([0x102, 0x103], 10);                                       // LAR, LSL
set([0x1a2], 100);                                             // CPUID
set([0x131, 0x133], 20);                                       // RDTSC, RDPMC
set([0x130, 0x132], 50);                                       // WRMSR, RDMSR
set([0x108, 0x109], 100);                                      // INVD, WBINVD

/** Cycles one execution of `insn` costs on bare metal. */
export function instructionCost(insn: Insn): number {
  return GROUP_COST.get(insn.op * 8 + insn.reg) ?? OP_COST[insn.op];
}

/**
 * The debug adapter over the VMM, through its real stdio protocol (dist/cli.js dap, built by
 * `npm run build`): launches under trap, pv and hw, the `vtscope.exits` and `vtscope.holes`
 * events, the custom requests, the VM-exit and VMM-event filters, the VMCS, VMM and Devices
 * scopes, and the launch errors. Counts are known by construction of the kernels; exit
 * reasons and VMCS encodings are the fact sheet's (shared/reference/x86-virt-facts.md);
 * addresses come from nm and nasm's listings, source lines from the sample sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  parseExitLogResponse, parseExitsEvent, parseHolesEvent, parseStatsResponse, parseVmcsResponse,
  type ExitsEventBody, type HolesEventBody,
} from '../../src/debug/protocol';
import { Workdir } from '../loader/toolchain';
import { addressOf, addressesOf, assembleFile } from '../vmm/support';
import { asmKernel, nmSymbols } from './kernels';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const sample = (name: string): string => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));
const work = new Workdir();
afterAll(() => work.remove());
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
});

let dc: DebugClient;
let connected: DebugClient | undefined;
afterEach(async () => {
  await connected?.stop();
  connected = undefined;
});

/** The adapter, with every vtscope.exits and vtscope.holes event it sends collected. */
async function startAdapter(): Promise<{ exits: ExitsEventBody[]; holes: HolesEventBody[] }> {
  dc = new DebugClient(CLI, 'dap', 'vtscope');
  const events = { exits: [] as ExitsEventBody[], holes: [] as HolesEventBody[] };
  dc.on('vtscope.exits', (e: DebugProtocol.Event) => events.exits.push(parseExitsEvent(e.body)));
  dc.on('vtscope.holes', (e: DebugProtocol.Event) => events.holes.push(parseHolesEvent(e.body)));
  await dc.start();
  connected = dc;
  return events;
}

const launch = (args: Record<string, unknown>) => args as DebugProtocol.LaunchRequestArguments;
const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** The first of the events `names` (no time limit of its own: the test's catches a hang). */
function nextEvent(...names: string[]): Promise<DebugProtocol.Event> {
  return new Promise((resolve) => {
    const handlers = names.map((name) => [name, (e: DebugProtocol.Event): void => {
      for (const [n, h] of handlers) dc.removeListener(n, h);
      resolve(e);
    }] as const);
    for (const [n, h] of handlers) dc.once(n, h);
  });
}

/** Launches with `filters` set, and waits for the first stop or the end. */
async function run(args: Record<string, unknown>, filters: string[] = []): Promise<DebugProtocol.StoppedEvent | DebugProtocol.TerminatedEvent> {
  await dc.initializeRequest();
  await dc.launchRequest(launch(args));
  await dc.setExceptionBreakpointsRequest({ filters });
  const next = nextEvent('stopped', 'terminated');
  await dc.configurationDoneRequest();
  return next as Promise<DebugProtocol.StoppedEvent | DebugProtocol.TerminatedEvent>;
}

async function continueTo(event: 'stopped' | 'terminated'): Promise<DebugProtocol.Event> {
  const [, e] = await Promise.all([dc.continueRequest({ threadId: 1 }), nextEvent(event)]);
  return e;
}

async function pc(): Promise<number> {
  return parseInt((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].instructionPointerReference!, 16);
}

/** The variables of a scope by name, and of a child of it by path. */
async function variables(scope: string, ...path: string[]): Promise<Map<string, string>> {
  const scopes = (await dc.scopesRequest({ frameId: 0 })).body.scopes;
  const s = scopes.find((x) => x.name === scope);
  if (s === undefined) throw new Error(`no scope ${scope} among ${scopes.map((x) => x.name).join(', ')}`);
  let ref = s.variablesReference;
  for (const name of path) {
    const v = (await dc.variablesRequest({ variablesReference: ref })).body.variables.find((x) => x.name === name);
    if (v === undefined) throw new Error(`no variable ${name} in ${scope}`);
    ref = v.variablesReference;
  }
  return new Map((await dc.variablesRequest({ variablesReference: ref })).body.variables.map((v) => [v.name, v.value]));
}

/** CPUID leaf 1, 100 times: under hw, 100 CPUID exits (reason 10), then the exit port's I/O exit (reason 30). */
const CPUID_KERNEL = `
    mov esi, 100
again:
    mov eax, 1
    xor ecx, ecx
cpuid_at:
    cpuid
after_cpuid:
    dec esi
    jnz again
    mov al, 0
    out 0xf4, al
`;

describe('exception filters', () => {
  it('offers one per basic exit reason of the fact sheet, the VMM event classes and the holes', async () => {
    await startAdapter();
    const filters = (await dc.initializeRequest()).body?.exceptionBreakpointFilters ?? [];
    // The fact sheet's section 1, copied as it stands: 47 basic exit reasons.
    const reasons = `0 EXCEPTION_NMI 1 EXTERNAL_INTERRUPT 2 TRIPLE_FAULT 3 INIT_SIGNAL 4 SIPI 7 INTERRUPT_WINDOW 8 NMI_WINDOW
      9 TASK_SWITCH 10 CPUID 12 HLT 13 INVD 14 INVLPG 15 RDPMC 16 RDTSC 18 VMCALL 19 VMCLEAR 20 VMLAUNCH 21 VMPTRLD
      22 VMPTRST 23 VMREAD 24 VMRESUME 25 VMWRITE 26 VMXOFF 27 VMXON 28 CR_ACCESS 29 DR_ACCESS 30 IO_INSTRUCTION
      31 MSR_READ 32 MSR_WRITE 33 INVALID_GUEST_STATE 34 MSR_LOAD_FAIL 37 MONITOR_TRAP_FLAG 39 MONITOR 40 PAUSE
      41 MCE_DURING_VMENTRY 43 TPR_BELOW_THRESHOLD 44 APIC_ACCESS 46 GDTR_IDTR 47 LDTR_TR 48 EPT_VIOLATION
      49 EPT_MISCONFIG 50 INVEPT 51 RDTSCP 52 PREEMPTION_TIMER 53 INVVPID 54 WBINVD 55 XSETBV`
      .trim().split(/\s+/).flatMap((w, k, all) => (k % 2 === 0 ? [[Number(w), all[k + 1]] as const] : []));
    expect(reasons).toHaveLength(47);
    const vmexit = filters.filter((f) => f.filter.startsWith('vmexit-'));
    expect(vmexit.map((f) => [f.filter, f.label])).toEqual(reasons.map(([n, name]) => [`vmexit-${n}`, `VM exit: ${name} (${n})`]));
    expect(filters.filter((f) => /^(vmm-|hole$)/.test(f.filter)).map((f) => f.filter))
      .toEqual(['vmm-privileged', 'vmm-shadow-pf', 'vmm-translate', 'vmm-hypercall', 'hole']);
    expect(filters.filter((f) => f.default).map((f) => f.filter)).toEqual(['DF', 'triple-fault']);
  });
});

describe('hw: VM exits', () => {
  const path = asmKernel(work, 'cpuid100', CPUID_KERNEL);
  const sym = nmSymbols(path);

  it('reports every exit in batched vtscope.exits events, with exact counts', async () => {
    const events = await startAdapter();
    const end = await run({ program: path, mode: 'hw' });
    expect(end.event).toBe('terminated');
    const records = events.exits.flatMap((e) => e.records);
    // Batched: far fewer events than records (one per stop or end, a few a second while running).
    expect(events.exits.length).toBeLessThan(records.length);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, k) => k));
    const cpuid = records.filter((r) => r.reasonNumber === 10);
    expect(cpuid).toHaveLength(100);
    for (const r of cpuid) expect(r).toMatchObject({ reason: 'CPUID', kind: 'vm exit', mode: 'hw', eip: sym.get('cpuid_at'), cpl: 0, qualification: 'CPUID leaf 0x1' });
    const io = records.filter((r) => r.reasonNumber === 30);
    expect(io.map((r) => r.reason)).toEqual(['IO_INSTRUCTION']);
    const last = events.exits[events.exits.length - 1];
    expect(last.total).toBe(records.length);
    expect(last.totals.find((t) => t.reasonNumber === 10)).toMatchObject({ reason: 'CPUID', count: 100 });
    // Records carry their source line: cpuid100.asm, the line of `cpuid`.
    const line = readFileSync(work.file('cpuid100.asm'), 'utf8').split('\n').findIndex((l) => /^\s+cpuid$/.test(l)) + 1;
    expect(cpuid[0].source).toEqual({ path: work.file('cpuid100.asm'), line });
  });

  it('stops on filter vmexit-10 after the VMM handled the CPUID, and shows the exit in the VMCS', async () => {
    await startAdapter();
    const init = await dc.initializeRequest();
    const filter = init.body?.exceptionBreakpointFilters?.find((f) => f.filter === 'vmexit-10');
    expect(filter?.label).toBe('VM exit: CPUID (10)');
    const stop = await run({ program: path, mode: 'hw', memVirt: 'ept', costModel: 'core-2006' }, ['vmexit-10']) as DebugProtocol.StoppedEvent;
    const at = hex8(sym.get('cpuid_at')!);
    expect(stop.body).toMatchObject({ reason: 'exception', description: expect.stringMatching(new RegExp(`^VM exit CPUID \\(10\\): CPUID leaf 0x1 at ${at} \\(cpuid100\\.asm:\\d+\\)$`)) });
    // The VMM emulated CPUID: the guest stands at the next instruction.
    expect(await pc()).toBe(sym.get('after_cpuid'));
    expect((await dc.exceptionInfoRequest({ threadId: 1 })).body).toMatchObject({ exceptionId: 'vmexit-10', description: stop.body.description });

    const exitInfo = await variables('VMCS', 'VM-exit information fields');
    expect(exitInfo.get('EXIT_REASON')).toBe('0x0000000a CPUID (10)');
    // VM-exit instruction length: CPUID is 0F A2.
    expect(exitInfo.get('EXIT_INSTR_LEN')).toBe(`0x${(sym.get('after_cpuid')! - sym.get('cpuid_at')!).toString(16).padStart(8, '0')}`);
    const controls = await variables('VMCS', 'VM-execution control fields');
    expect(controls.get('SECONDARY_PROC')).toMatch(/enable EPT/);
    expect(controls.get('PRIMARY_PROC')).toMatch(/HLT exiting.*activate secondary controls/);

    const vmcs = parseVmcsResponse((await dc.customRequest('vtscope.vmcs')).body);
    expect(vmcs.fields.find((f) => f.encoding === 0x4402)).toEqual({
      group: 'VM-exit information fields', name: 'EXIT_REASON', encoding: 0x4402, value: '0x0000000a', decoded: 'CPUID (10)',
    });
    expect(vmcs.fields.find((f) => f.name === 'GUEST_RIP')).toMatchObject({ group: 'Guest-state area', encoding: 0x681e });
    expect(vmcs.fields.find((f) => f.name === 'VMCS_LINK_PTR')).toMatchObject({ encoding: 0x2800, value: '0xffffffffffffffff' });

    // The second pass stops again at the next CPUID; without the filter the guest runs to its end.
    expect((await continueTo('stopped')).body.description).toMatch(/^VM exit CPUID \(10\)/);
    const stats = parseStatsResponse((await dc.customRequest('vtscope.stats')).body);
    expect(stats).toMatchObject({ mode: 'hw', costModel: 'core-2006', events: 2 });
    // The counters agree with the ring: two CPUID exits, the cycles their records were charged.
    const ring = parseExitLogResponse((await dc.customRequest('vtscope.exitLog')).body);
    expect(ring).toMatchObject({ total: 2, first: 0 });
    expect(stats.totals).toEqual([{ reason: 'CPUID', reasonNumber: 10, kind: 'vm exit', count: 2, cycles: ring.records[0].cost + ring.records[1].cost }]);
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    await continueTo('terminated');
  });

  it('says so when a step crosses a VM exit', async () => {
    await startAdapter();
    await dc.initializeRequest();
    await dc.launchRequest(launch({ program: path, mode: 'hw' }));
    await dc.send('setInstructionBreakpoints', { breakpoints: [{ instructionReference: hex8(sym.get('cpuid_at')!) }] });
    await Promise.all([dc.configurationDoneRequest(), nextEvent('stopped')]);
    const [, step] = await Promise.all([dc.stepInRequest({ threadId: 1, granularity: 'instruction' }), nextEvent('stopped')]);
    expect(step.body.description).toMatch(/^Paused at after_cpuid \(cpuid100\.asm:\d+\); the VMM handled 1 event on the way: VM exit CPUID \(CPUID leaf 0x1\)$/);
    expect(await pc()).toBe(sym.get('after_cpuid'));
    // CPUID leaf 1 as qemu-system-i386 -cpu qemu32 answers it (test/cpu/cpuid.test.ts): the VMM shows the guest no VMX.
    expect((await dc.evaluateRequest({ expression: 'eax' })).body.result).toBe('0x00000663 (1635)');
    const ecx = parseInt((await dc.evaluateRequest({ expression: 'ecx' })).body.result, 16);
    expect(ecx & (1 << 5)).toBe(0);   // CPUID.01H:ECX.VMX (SDM Vol. 3C, 23.6)
  });

  it('decodes an I/O exit\'s qualification in the VMCS scope', async () => {
    const io = asmKernel(work, 'out', `
    mov dx, 0x3f8
    mov al, 'A'
out_at:
    out dx, al
    mov al, 0
    out 0xf4, al
`);
    await startAdapter();
    const stop = await run({ program: io, mode: 'hw' }, ['vmexit-30']) as DebugProtocol.StoppedEvent;
    expect(stop.body.description).toMatch(new RegExp(`^VM exit IO_INSTRUCTION \\(30\\): .* at ${hex8(nmSymbols(io).get('out_at')!)} `));
    const exitInfo = await variables('VMCS', 'VM-exit information fields');
    expect(exitInfo.get('EXIT_REASON')).toBe('0x0000001e IO_INSTRUCTION (30)');
    // Fact sheet section 3: 2:0 size - 1 = 0, 3 direction 0 (OUT), 4 string 0, 5 REP 0, 6 operand 0 (DX), 31:16 port 0x3f8.
    expect(exitInfo.get('EXIT_QUALIFICATION')).toBe('0x03f80000 OUT, port 0x03f8 (DX), 1 byte');
    expect(exitInfo.get('EXIT_INSTR_LEN')).toBe('0x00000001');   // OUT DX, AL is EE
  });

  it('pages through the exit-log ring with vtscope.exitLog', async () => {
    await startAdapter();
    expect((await run({ program: path, mode: 'hw' })).event).toBe('terminated');
    const page = parseExitLogResponse((await dc.customRequest('vtscope.exitLog', { start: 10, count: 5 })).body);
    expect(page.first).toBe(0);
    expect(page.records.map((r) => [r.seq, r.reason, r.eip])).toEqual([10, 11, 12, 13, 14].map((k) => [k, 'CPUID', sym.get('cpuid_at')]));
  });
});

/** Ten CLIs: under trap, each is a #GP the VMM emulates (CLI is privileged at CPL 1 > IOPL 0). */
const CLI_KERNEL = `
    mov ecx, 10
again:
cli_at:
    cli
after_cli:
    loop again
    mov al, 0
    out 0xf4, al
section .data
    times 4096 db 0             ; a page of its own, which the guest never touches
marker: dd 0x12345678
`;

describe('trap: privileged-instruction traps and virtualization holes', () => {
  const path = asmKernel(work, 'cli10', CLI_KERNEL);
  const sym = nmSymbols(path);

  it('reports each emulated CLI in vtscope.exits', async () => {
    const events = await startAdapter();
    expect((await run({ program: path, mode: 'trap' })).event).toBe('terminated');
    const cli = events.exits.flatMap((e) => e.records).filter((r) => r.reason === '#GP emulate CLI');
    expect(cli).toHaveLength(10);
    for (const r of cli) expect(r).toMatchObject({ kind: 'privileged instruction', reasonNumber: null, mode: 'trap', eip: sym.get('cli_at'), cpl: 1 });
    expect(events.exits[events.exits.length - 1].totals.find((t) => t.reason === '#GP emulate CLI')?.count).toBe(10);
    expect(events.holes).toEqual([]);
  });

  it('stops on vmm-privileged after the CLI and shows the VMM\'s view and the devices', async () => {
    await startAdapter();
    const stop = await run({ program: path, mode: 'trap' }, ['vmm-privileged']) as DebugProtocol.StoppedEvent;
    expect(stop.body).toMatchObject({ reason: 'exception', description: expect.stringMatching(new RegExp(`^VMM #GP emulate CLI: .* at ${hex8(sym.get('cli_at')!)} \\(cli10\\.asm:\\d+\\)$`)) });
    expect(await pc()).toBe(sym.get('after_cli'));
    const vmm = await variables('VMM');
    // The loader leaves CR0 = PE | ET and IF = 0 (Multiboot); the kernel runs in ring 1.
    expect(vmm.get('virtual CR0')).toBe('0x00000011');
    expect(vmm.get('virtual IF')).toBe('0');
    expect(vmm.get('virtual CPL')).toBe('0 (the processor runs it at CPL 1)');
    expect(vmm.get('last event')).toMatch(/^#GP emulate CLI: /);
    // The PICs and the PIT as SeaBIOS leaves them (machine.ts firmwareInit): master at vector 8, IMR 0xb8; PIT mode 2, count 65536.
    const master = await variables('Devices', 'PIC master (0x20)');
    expect(master.get('IMR')).toBe('0xb8 (IR3 IR4 IR5 IR7)');
    expect(master.get('vector base')).toBe('0x08');
    const pit = await variables('Devices', 'PIT channel 0 (0x40, IRQ 0)');
    expect(pit.get('mode')).toBe('2 (rate generator)');
    expect(pit.get('initial count')).toBe('65536 (18.21 Hz)');
    // Memory the guest has not touched yet is missing from the shadow page tables, but the debugger reads the guest's view.
    expect((await dc.evaluateRequest({ expression: 'dword [marker]' })).body.result).toBe('0x12345678 (305419896)');
  });

  const holesAsm = sample('holes.asm');
  const holes = assembleFile(holesAsm);
  const lineOf = (re: RegExp): number => readFileSync(holesAsm, 'utf8').split('\n').findIndex((l) => re.test(l)) + 1;

  it('sends the holes of samples/holes.asm in vtscope.holes, at the listing\'s addresses and the source lines', async () => {
    const events = await startAdapter();
    expect((await run({ program: holesAsm, mode: 'trap' })).event).toBe('terminated');
    expect(events.holes.length).toBeGreaterThan(0);
    const last = events.holes[events.holes.length - 1].holes;
    expect(last.map((h) => ({ eip: h.eip, count: h.count, line: h.source?.line, path: h.source?.path }))).toEqual([
      { eip: addressOf(holes.listing, /^popfd/), count: 1, line: lineOf(/^\s+popfd/), path: holesAsm },
      { eip: addressOf(holes.listing, /^sgdt \[gdtr_seen\]/), count: 1, line: lineOf(/^\s+sgdt \[gdtr_seen\]/), path: holesAsm },
      { eip: addressOf(holes.listing, /^smsw eax/), count: 1, line: lineOf(/^\s+smsw eax/), path: holesAsm },
      { eip: addressOf(holes.listing, /^push cs/), count: 1, line: lineOf(/^\s+push cs/), path: holesAsm },
    ]);
    expect(last[0].effect).toBe('POPF at CPL 1 dropped a change of IF from 0 to 1');
  });

  it('stops on filter hole after the instruction that went wrong', async () => {
    await startAdapter();
    const stop = await run({ program: holesAsm, mode: 'trap' }, ['hole']) as DebugProtocol.StoppedEvent;
    const popfd = addressOf(holes.listing, /^popfd/);
    expect(stop.body.description).toBe(
      `Virtualization hole: popf at ${hex8(popfd)} (holes.asm:${lineOf(/^\s+popfd/)}): POPF at CPL 1 dropped a change of IF from 0 to 1`);
    expect(await pc()).toBe(popfd + 1);   // POPFD is one byte (9D)
    expect((await dc.exceptionInfoRequest({ threadId: 1 })).body.exceptionId).toBe('hole');
  });
});

describe('pv: hypercalls and the VMM stop of an unmodified kernel', () => {
  const pvHello = sample('pv-hello.asm');

  it('runs samples/pv-hello.asm, reporting its hypercalls (console_io is 18, sched_op 29)', async () => {
    const events = await startAdapter();
    const output = dc.assertOutput('stdout', 'Hello from vtscope!', 60_000);
    const exited = nextEvent('exited');
    expect((await run({ program: pvHello, mode: 'pv' })).event).toBe('terminated');
    await output;
    expect((await exited).body.exitCode).toBe(1);
    const records = events.exits.flatMap((e) => e.records);
    const hypercalls = new Set(records.filter((r) => r.kind === 'hypercall').map((r) => `${r.reason} ${r.reasonNumber}`));
    expect(hypercalls).toContain('hypercall console_io 18');
    expect(hypercalls).toContain('hypercall sched_op 29');
    const stats = parseStatsResponse((await dc.customRequest('vtscope.stats')).body);
    expect(stats.mode).toBe('pv');
    expect(stats.hypercalls.find((h) => h.number === 18)).toMatchObject({ name: 'console_io', count: records.filter((r) => r.reasonNumber === 18 && r.kind === 'hypercall').length });
  });

  it('stops on vmm-hypercall after the INT 0x82', async () => {
    await startAdapter();
    const stop = await run({ program: pvHello, mode: 'pv' }, ['vmm-hypercall']) as DebugProtocol.StoppedEvent;
    expect(stop.body.description).toMatch(/^VMM hypercall console_io: console_io\(cmd=0x0, count=0x14, str=0x[0-9a-f]+\) = 0 at 0x[0-9a-f]{8} \(pv-hello\.asm:\d+\)$/);
    const at = parseInt(/ at (0x[0-9a-f]{8})/.exec(stop.body.description!)![1], 16);
    expect(await pc()).toBe(at + 2);   // INT imm8 is two bytes (CD 82)
    const vmm = await variables('VMM');
    expect(vmm.get('virtual IF')).toMatch(/^0 /);
  });

  it('stops where an unmodified kernel executes a privileged instruction, with the VMM\'s message, then ends', async () => {
    await startAdapter();
    const hello = assembleFile(sample('hello.asm'));
    // The first OUT it runs is serial_init's first, the first `out dx, al` of the file.
    const address = addressesOf(hello.listing, /^out dx, al/)[0];
    const stop = await run({ program: sample('hello.asm'), mode: 'pv' }) as DebugProtocol.StoppedEvent;
    expect(stop.body).toMatchObject({ reason: 'exception' });
    expect(stop.body.text).toMatch(new RegExp(`^pv: the guest kernel executed \`out dx,al\` at ${hex8(address)}, which faults in ring 1`));
    expect(await pc()).toBe(address);
    const exited = nextEvent('exited');
    await continueTo('terminated');
    expect((await exited).body.exitCode).toBe(10);   // EXIT_VMM_STOP
  });
});

describe('launch errors', () => {
  const path = asmKernel(work, 'err', 'hlt');

  it('names the attribute and lists the valid values', async () => {
    await startAdapter();
    await dc.initializeRequest();
    const refused = (args: Record<string, unknown>) => dc.launchRequest(launch({ program: path, ...args }));
    await expect(refused({ mode: 'vmx' })).rejects.toThrow('launch: \'mode\' must be one of native, trap, bt, pv, hw, not "vmx"');
    await expect(refused({ mode: 'hw', memVirt: 'npt' })).rejects.toThrow('launch: \'memVirt\' must be one of ept, shadow (mode hw only), not "npt"');
    await expect(refused({ mode: 'trap', memVirt: 'ept' })).rejects.toThrow("launch: 'memVirt' applies to mode 'hw' only");
    await expect(refused({ mode: 'hw', costModel: 'pentium' })).rejects.toThrow(
      'launch: \'costModel\' must be a cost preset: one of p4-2006, core-2006, nehalem-ept, not "pentium"');
    await expect(refused({ costModel: 'p4-2006' })).rejects.toThrow("launch: 'costModel' applies to the VMM modes (trap, bt, pv, hw), not to mode 'native'");
    await expect(dc.customRequest('vtscope.stats')).rejects.toThrow('vtscope.stats: no guest is loaded (launch first)');
    // Still serving: a good launch in native mode, where there is no VMCS.
    await dc.launchRequest(launch({ program: path, stopOnEntry: true }));
    await expect(dc.customRequest('vtscope.vmcs')).rejects.toThrow('vtscope.vmcs: there is no VMCS in mode native');
    await expect(dc.customRequest('vtscope.exitLog', { count: 0 })).rejects.toThrow('vtscope.exitLog.count must be from 1 to 4096, not 0');
    expect(parseStatsResponse((await dc.customRequest('vtscope.stats')).body)).toMatchObject({ mode: 'native', costModel: null, cycles: null, events: 0 });
  });
});

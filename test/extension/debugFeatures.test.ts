// The features that work on a running vtscope session, against the editor stand-in
// (vscodeStub.ts) and an adapter stand-in answering its custom requests: code lenses with
// live counts from the exit records, Show VMCS, and Break on VM Exit Reason.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExitRecordBody } from '../../src/debug/protocol';
import { ExitStore } from '../../src/extension/exitStore';
import { formatVmcs } from '../../src/extension/vmcsDocument';
import { type CodeLens, type DebugSessionStub, host, sessionStub, Uri } from './vscodeStub';

vi.mock('vscode', () => import('./vscodeStub'));
vi.mock('vscode-languageclient/node', () => ({ TransportKind: { stdio: 0 }, LanguageClient: class {} }));

const { activate } = await import('../../src/extension/extension');
const { siteLenses } = await import('../../src/extension/siteLenses');
const { mergedArguments, VM_EXIT_FILTERS, VMM_EVENT_FILTERS } = await import('../../src/extension/exitBreakpoints');

const K = '/ws/k.asm';

function record(seq: number, reason: string, kind: string, line: number, cost: number, reasonNumber: number | null = null, cycles = 1000 * seq): ExitRecordBody {
  return { seq, icount: seq, vcpu: 0, cycles, mode: 'pv', kind, reason, reasonNumber, eip: 0x100000 + line, cpl: 1, qualification: '', cost, source: { path: K, line } };
}

function session(mode: string, id = 's1'): DebugSessionStub {
  return sessionStub(id, { type: 'vtscope', request: 'launch', name: `k (${mode})`, program: K, mode });
}

async function activated(): Promise<void> {
  host.reset();
  await activate({ subscriptions: [], asAbsolutePath: (p: string) => `/nonexistent/${p}` } as never);
}

/** Lets the extension's pending promises and timers run (the lens refresh waits 250 ms). */
const settle = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('site lenses', () => {
  it('count each reason at each line, with its share of the run\'s cycles', () => {
    const store = new ExitStore(2);
    // Three console_io calls at line 12 (400 cycles each) and one sched_op at line 20 (300);
    // the ring keeps only two records, the counters per line all four.
    store.addExits({ total: 4, totals: [], records: [
      record(0, 'hypercall console_io', 'hypercall', 12, 400, 18),
      record(1, 'hypercall console_io', 'hypercall', 12, 400, 18),
      record(2, 'hypercall sched_op', 'hypercall', 20, 300, 29),
      record(3, 'hypercall console_io', 'hypercall', 12, 400, 18, 38_000),
    ] });
    store.setRunCycles(40_000);
    store.setHoles({ holes: [
      { instruction: 'popf', eip: 0x100040, count: 4, effect: 'POPF at CPL 1 dropped a change of IF from 0 to 1', source: { path: K, line: 30 } },
      { instruction: 'smsw eax', eip: 0x200000, count: 1, effect: 'elsewhere', source: { path: '/ws/other.asm', line: 3 } },
    ] });
    // 1,200 of 40,000 cycles = 3.0%; 300 of 40,000 = 0.8% (0.75 rounded half up).
    expect(siteLenses(K, store)).toEqual([
      { line: 11, title: 'hypercall console_io: 3 calls, 3.0% of cycles', view: 'vtscope.exits' },
      { line: 19, title: 'hypercall sched_op: 1 call, 0.8% of cycles', view: 'vtscope.exits' },
      { line: 29, title: 'hole: 4 times: POPF at CPL 1 dropped a change of IF from 0 to 1', view: 'vtscope.holes' },
    ]);
  });

  it('name VM exits by their SDM number, and say when records were left out', () => {
    const store = new ExitStore(10);
    store.addExits({ total: 5, totals: [], records: [record(0, 'CPUID', 'vm exit', 7, 2000, 10, 10_000), record(1, '#GP emulate OUT', 'privileged instruction', 8, 1000, null, 20_000)] });
    // No statistics yet: the newest record's clock, 20,000 cycles, is the run's length so far.
    expect(siteLenses(K, store).map((l) => l.title)).toEqual([
      'VM exit CPUID (10): at least 1 exit, 10.0% of cycles',
      '#GP emulate OUT: at least 1 time, 5.0% of cycles',
    ]);
  });
});

describe('the extension on a running session', () => {
  beforeEach(activated);

  it('shows lenses for the guest source of the shown session, and the run\'s cycles from vtscope.stats', async () => {
    host.adapter = (command) => command === 'vtscope.stats'
      ? Promise.resolve({ mode: 'pv', costModel: 'p4-2006', instructions: 50, cycles: 10_000, events: 1, totals: [], hypercalls: [], holes: [] })
      : Promise.reject(new Error(command));
    const s = session('pv');
    host.startSession(s);
    host.customEvent.fire({ session: s, event: 'vtscope.exits', body: { total: 1, totals: [], records: [record(0, 'hypercall console_io', 'hypercall', 12, 400, 18)] } });
    await settle();
    expect(host.requests.map((r) => r.command)).toEqual(['vtscope.stats']);
    const [{ provider }] = host.codeLensProviders;
    const lenses = provider.provideCodeLenses({ uri: Uri.file(K) }) as CodeLens[];
    // 400 of 10,000 cycles.
    expect(lenses.map((l) => [l.range.startLine, l.command])).toEqual([[11, { title: 'hypercall console_io: 1 call, 4.0% of cycles', command: 'vtscope.exits.focus' }]]);
    expect(provider.provideCodeLenses({ uri: Uri.file('/ws/other.asm') })).toEqual([]);
  });

  it('shows the VMCS of a hw session grouped in a read-only document', async () => {
    host.adapter = (command) => command === 'vtscope.vmcs' ? Promise.resolve({ fields: [
      { group: 'Guest-state area', name: 'GUEST_CR0', encoding: 0x6800, value: '0x00000011', decoded: 'PE ET' },
      { group: 'Exit information', name: 'EXIT_REASON', encoding: 0x4402, value: '0x0000000a', decoded: 'CPUID (10)' },
      { group: 'Guest-state area', name: 'GUEST_RIP', encoding: 0x681e, value: '0x00100234' },
    ] }) : Promise.reject(new Error(command));
    host.startSession(session('hw'));
    await host.commands.get('vtscope.showVmcs')!();
    expect(host.messages).toEqual([]);
    expect(host.shownDocuments).toHaveLength(1);
    expect(host.shownDocuments[0].uri.scheme).toBe('vtscope-vmcs');
    expect(host.shownDocuments[0].text).toBe([
      'VMCS of "k (hw)" (read when the command ran)',
      '',
      'Guest-state area',
      '  GUEST_CR0    6800  0x00000011  PE ET',
      '  GUEST_RIP    681E  0x00100234',
      '',
      'Exit information',
      '  EXIT_REASON  4402  0x0000000a  CPUID (10)',
      '',
    ].join('\n'));
  });

  it('says why there is no VMCS to show', async () => {
    await host.commands.get('vtscope.showVmcs')!();
    host.startSession(session('trap'));
    await host.commands.get('vtscope.showVmcs')!();
    host.adapter = () => Promise.reject(new Error('the guest is running: pause it to read the VMCS'));
    host.startSession(session('hw', 's2'));
    await host.commands.get('vtscope.showVmcs')!();
    host.adapter = () => Promise.resolve({ fields: [{ group: 'g', name: 'n', encoding: 1, value: 'ten' }] });
    await host.commands.get('vtscope.showVmcs')!();
    expect(host.messages).toEqual([
      { severity: 'info', text: 'vtscope: Show VMCS needs a vtscope debug session running a guest in hw mode.' },
      { severity: 'info', text: 'vtscope: this session runs the guest in trap mode, which has no VMCS: only hw mode runs it in VMX non-root operation.' },
      { severity: 'error', text: 'vtscope: could not read the VMCS: the guest is running: pause it to read the VMCS' },
      { severity: 'error', text: 'vtscope: could not read the VMCS: vtscope.vmcs.fields[0].value must be a hexadecimal number like 0x0000001c, not "ten"' },
    ]);
    expect(host.shownDocuments).toEqual([]);
  });

  it('breaks on the VM exit reasons picked, keeping the filters of the Breakpoints view', async () => {
    host.adapter = () => Promise.resolve(undefined);
    const s = session('hw');
    host.startSession(s);
    // VS Code sends the view's filters while configuring the session.
    host.editorRequest(s, 'setExceptionBreakpoints', { filters: ['DF', 'triple-fault'] });
    host.quickPick = (items) => (items as { id?: string }[]).filter((i) => i.id === 'vmexit-10' || i.id === 'hole');
    await host.commands.get('vtscope.breakOnExitReason')!();
    expect(host.requests).toEqual([{ session: 's1', command: 'setExceptionBreakpoints', args: { filters: ['DF', 'triple-fault', 'vmexit-10', 'hole'] } }]);
    expect(host.messages).toEqual([{ severity: 'info', text: 'vtscope: stopping on 10 CPUID, virtualization hole.' }]);

    // The user ticks a filter in the Breakpoints view: VS Code sends its own list, without
    // the picked ones, and the extension sends the union after it.
    host.editorRequest(s, 'setExceptionBreakpoints', { filters: ['DF', 'triple-fault', 'GP'] });
    await settle();
    expect(host.requests.slice(1)).toEqual([{ session: 's1', command: 'setExceptionBreakpoints', args: { filters: ['DF', 'triple-fault', 'GP', 'vmexit-10', 'hole'] } }]);

    // The quick pick shows what is picked; picking nothing takes the reasons back.
    host.quickPick = () => [];
    await host.commands.get('vtscope.breakOnExitReason')!();
    expect((host.quickPickItems as { id?: string; picked?: boolean }[]).filter((i) => i.picked).map((i) => i.id)).toEqual(['vmexit-10', 'hole']);
    expect(host.requests.slice(2)).toEqual([{ session: 's1', command: 'setExceptionBreakpoints', args: { filters: ['DF', 'triple-fault', 'GP'] } }]);
  });

  it('keeps the reasons picked without a session for the next one', async () => {
    host.adapter = () => Promise.resolve(undefined);
    host.quickPick = (items) => (items as { id?: string }[]).filter((i) => i.id === 'vmexit-30');
    await host.commands.get('vtscope.breakOnExitReason')!();
    expect(host.messages).toEqual([{ severity: 'info', text: 'vtscope: the next vtscope debug session stops on 30 IO_INSTRUCTION.' }]);
    const s = session('hw');
    host.startSession(s);
    host.editorRequest(s, 'setExceptionBreakpoints', { filters: [] });
    await settle();
    expect(host.requests).toEqual([{ session: 's1', command: 'setExceptionBreakpoints', args: { filters: ['vmexit-30'] } }]);
  });

  it('reports an adapter that refuses the filters', async () => {
    host.adapter = () => Promise.reject(new Error('unknown exception filter vmexit-10'));
    const s = session('hw');
    host.startSession(s);
    host.editorRequest(s, 'setExceptionBreakpoints', { filters: [] });
    host.quickPick = (items) => (items as { id?: string }[]).filter((i) => i.id === 'vmexit-10');
    await host.commands.get('vtscope.breakOnExitReason')!();
    expect(host.messages).toEqual([{ severity: 'error', text: 'vtscope: the debug adapter refused the VM exit breakpoints: unknown exception filter vmexit-10' }]);
  });
});

describe('the filters offered', () => {
  it('are the basic exit reasons of the fact sheet, by number, and the VMM event classes', () => {
    // x86-virt-facts.md, section 1: 47 reasons (15 + 16 + 16 in its three columns), 0 EXCEPTION_NMI to 55 XSETBV.
    expect(VM_EXIT_FILTERS).toHaveLength(47);
    expect(VM_EXIT_FILTERS[0]).toEqual({ id: 'vmexit-0', label: '0 EXCEPTION_NMI', description: 'hw' });
    expect(VM_EXIT_FILTERS.find((f) => f.id === 'vmexit-10')!.label).toBe('10 CPUID');
    expect(VM_EXIT_FILTERS.find((f) => f.id === 'vmexit-30')!.label).toBe('30 IO_INSTRUCTION');
    expect(VM_EXIT_FILTERS.find((f) => f.id === 'vmexit-48')!.label).toBe('48 EPT_VIOLATION');
    expect(VM_EXIT_FILTERS.at(-1)!.label).toBe('55 XSETBV');
    expect(VMM_EVENT_FILTERS.map((f) => f.id)).toEqual(['vmm-privileged', 'vmm-shadow-pf', 'vmm-translate', 'vmm-hypercall', 'hole']);
  });

  it('merge with the view\'s filters without repeating one, keeping its other arguments', () => {
    expect(mergedArguments({ filters: ['GP', 'vmexit-10'], filterOptions: [{ filterId: 'PF' }] }, new Set(['vmexit-10', 'vmexit-12'])))
      .toEqual({ filters: ['GP', 'vmexit-10', 'vmexit-12'], filterOptions: [{ filterId: 'PF' }] });
    expect(mergedArguments(undefined, new Set(['hole']))).toEqual({ filters: ['hole'] });
  });
});

describe('formatVmcs', () => {
  it('says when there are no fields', () => {
    expect(formatVmcs('VMCS', [])).toBe('VMCS\n\nThe adapter sent no fields.');
  });
});

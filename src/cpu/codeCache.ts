/**
 * Decoded code blocks: straight-line runs of instructions, decoded once and looked up by the
 * physical address of their first byte. A block never spans two pages, so a write to a page
 * (self-modifying code, a loader copying code) invalidates exactly the blocks on that page.
 */
import type { Cpu } from './cpu';
import { COMPILE_THRESHOLD, type CompiledBlock } from './blockCompiler';
import { decode, endsBlock } from './decoder';
import { CpuFault } from './exceptions';
import { Insn } from './insn';
import { CS } from './registers';

/** Longest block: bounds decode work wasted when a block is cut short by a fault or a write. */
const MAX_BLOCK = 64;
const CACHE_BITS = 16;

export class Block {
  readonly insns: Insn[] = [];
  valid = true;
  /** Times looked up to run; after `CodeCache.compileAfter` it is compiled. */
  runs = 0;
  compiled: CompiledBlock | undefined = undefined;
  /** The blocks that ran after this one last time (two: a branch's two ways), valid while the TLB epoch holds. */
  nextA: Block | undefined = undefined;
  nextB: Block | undefined = undefined;
  nextEpoch = -1;
  /** VMX: whether no instruction here can cause a VM exit, so it may run compiled in non-root operation (vmx/exits.ts). */
  vmxQuiet: boolean | undefined = undefined;
  /**
   * EIP of the first instruction: compiled code has the EIPs built in. The CPL is part of
   * the identity because a monitor's translation of the instructions may depend on it.
   */
  constructor(readonly phys: number, readonly eip: number, readonly code32: boolean, readonly cpl: number) {}
}

export class CodeCache {
  private readonly tags = new Int32Array(1 << CACHE_BITS).fill(-1);
  private readonly blocks: (Block | undefined)[] = new Array(1 << CACHE_BITS);
  private readonly byPage = new Map<number, Block[]>();
  /** Linear addresses of instruction breakpoints: blocks end before them and the run loop stops there. */
  readonly stopAt = new Set<number>();
  /** Bumped on every invalidation, so a running block can tell it went stale. */
  generation = 0;
  decodedBlocks = 0;
  /** Interpreted runs of a block before it is compiled to JavaScript (blockCompiler.ts); Infinity interprets everything. */
  compileAfter = COMPILE_THRESHOLD;

  /** The caches of all processors sharing this one's RAM and code-page map, this one included. */
  private peers: CodeCache[] = [this];

  constructor(private readonly cpu: Cpu) {}

  /** Joins the caches of the processors `other` shares RAM with (index.ts createCpu). */
  joinPeers(other: CodeCache): void {
    this.peers = other.peers;
    this.peers.push(this);
  }

  /** The block starting at the current CS:EIP, decoding it if needed (may fault on the first fetch). */
  lookup(): Block {
    const cpu = this.cpu;
    const lin = (cpu.segBase[CS] + cpu.eip) | 0;
    // Instruction fetch: EPT checks execute rather than read permission (vmx/ept.ts). The run
    // loop clears the flag when a fetch faults.
    cpu.fetching = true;
    const phys = cpu.physRead(lin);
    const slot = (phys ^ (phys >>> CACHE_BITS)) & ((1 << CACHE_BITS) - 1);
    if (this.tags[slot] === phys) {
      const b = this.blocks[slot]!;
      if (b.code32 === cpu.code32 && b.eip === cpu.eip && b.cpl === cpu.cpl && b.valid) { cpu.fetching = false; return b; }
    }
    const block = this.decodeBlock(phys, lin);
    cpu.fetching = false;
    if (block.insns.length > 0 && ((lin & 0xfff) + this.blockBytes(block)) <= 0x1000) {
      this.tags[slot] = phys;
      this.blocks[slot] = block;
      this.track(block);
    }
    return block;
  }

  private blockBytes(b: Block): number {
    let n = 0;
    for (const i of b.insns) n += i.len;
    return n;
  }

  private decodeBlock(phys: number, lin: number): Block {
    const cpu = this.cpu;
    const block = new Block(phys, cpu.eip, cpu.code32, cpu.cpl);
    const monitor = cpu.monitor;
    let eip = cpu.eip;
    let offsetInPage = lin & 0xfff;
    this.decodedBlocks++;
    for (let n = 0; n < MAX_BLOCK; n++) {
      const i = new Insn(execNothing);
      if (n === 0) {
        decode(cpu, eip, i);   // a fault here is the instruction's own: let it propagate
      } else {
        try { decode(cpu, eip, i); } catch (e) {
          if (e instanceof CpuFault) break;   // raised again when execution gets there
          throw e;
        }
      }
      // A block stays within one page; an instruction crossing the page end runs uncached, alone.
      if (offsetInPage + i.len > 0x1000 && n > 0) break;
      if (monitor?.translate !== undefined) monitor.translate(cpu, i, eip);
      block.insns.push(i);
      offsetInPage += i.len;
      eip = cpu.code32 ? (eip + i.len) | 0 : (eip + i.len) & 0xffff;
      if (endsBlock(i) || offsetInPage >= 0x1000) break;
      if (this.stopAt.size !== 0 && this.stopAt.has((cpu.segBase[CS] + eip) | 0)) break;
    }
    if (monitor?.blockDecoded !== undefined) monitor.blockDecoded(cpu, block.eip, block.insns.length);
    return block;
  }

  private track(b: Block): void {
    const page = b.phys >>> 12;
    let list = this.byPage.get(page);
    if (list === undefined) { list = []; this.byPage.set(page, list); }
    else if (list.length > 256) list = list.filter((x) => x.valid && this.isCached(x));
    list.push(b);
    this.byPage.set(page, list);
    this.cpu.codePages[page] = 1;
  }

  private isCached(b: Block): boolean {
    const slot = (b.phys ^ (b.phys >>> CACHE_BITS)) & ((1 << CACHE_BITS) - 1);
    return this.blocks[slot] === b;
  }

  /** Code on `page` was written: drop its blocks, in every processor's cache. */
  invalidatePage(page: number): void {
    for (const cache of this.peers) cache.dropPage(page);
    this.cpu.codePages[page] = 0;
  }

  private dropPage(page: number): void {
    const list = this.byPage.get(page);
    if (list !== undefined) {
      for (const b of list) b.valid = false;
      this.byPage.delete(page);
    }
    this.generation++;
    this.cpu.leaveBlock = true;   // the running block may be among them
  }

  /** Replaces the instruction breakpoints (linear addresses); blocks are re-cut around them. */
  setBreakpoints(linear: Iterable<number>): void {
    this.stopAt.clear();
    for (const a of linear) this.stopAt.add(a | 0);
    this.invalidateAll();
  }

  /** Drops everything (breakpoints changed, or a mode change that alters decoding). */
  invalidateAll(): void {
    for (const [page, list] of this.byPage) {
      for (const b of list) b.valid = false;
      // A shared map keeps the page marked: another processor's cache may still hold code there.
      if (this.peers.length === 1) this.cpu.codePages[page] = 0;
    }
    this.byPage.clear();
    this.tags.fill(-1);
    this.blocks.fill(undefined);
    this.generation++;
    this.cpu.leaveBlock = true;
  }
}

function execNothing(): void { /* replaced by decode() */ }

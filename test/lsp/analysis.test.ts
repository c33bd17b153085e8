// The line parser and the constant propagation under the features: how nasm's statement forms
// are read (the assembler's rule that a first word which is no instruction is a label), and
// register values computed by hand through partial registers, LEA, XCHG, PUSH/POP, REP and
// block boundaries.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/lsp/evaluate';
import { type RegisterState, walk } from '../../src/lsp/propagation';
import { buildIndex } from '../../src/lsp/sourceIndex';
import { parseStatement } from '../../src/lsp/statement';
import { SymbolTable } from '../../src/lsp/symbolTable';
import { tokenize } from '../../src/asm/lexer';

const shape = (line: string) => {
  const st = parseStatement(line);
  return {
    def: st.definition ? `${st.definition.kind} ${st.definition.word.text}` : undefined,
    op: st.op ? `${st.opKind} ${st.op.name}` : undefined,
    operands: st.operands.map((o) => line.slice(o.start, o.end)),
  };
};

describe('statements', () => {
  it.each([
    ['start: mov eax, [ebx + 4]', { def: 'label start', op: 'instruction mov', operands: ['eax', '[ebx + 4]'] }],
    ['msg db "a,b", 0 ; note', { def: 'label msg', op: 'directive db', operands: ['"a,b"', '0'] }],
    ['LEN equ $ - msg', { def: 'equ LEN', op: 'directive equ', operands: ['$ - msg'] }],
    ['.loop: dec ecx', { def: 'label .loop', op: 'instruction dec', operands: ['ecx'] }],
    ['nop: ret', { def: 'label nop', op: 'instruction ret', operands: [] }],
    ['    times 510-($-$$) db 0', { def: undefined, op: 'directive db', operands: ['0'] }],
    ['[section .data]', { def: 'section .data', op: 'directive section', operands: ['.data'] }],
    ['%define HC (10 + 8)', { def: 'define HC', op: 'preprocessor %define', operands: ['HC (10 + 8)'] }],
    ['%macro outb 2', { def: 'macro outb', op: 'preprocessor %macro', operands: ['outb 2'] }],
    ['    outb 0x3F8, al', { def: undefined, op: 'macro outb', operands: ['0x3F8', 'al'] }],
    ['%%skip: jmp %%skip', { def: undefined, op: 'instruction jmp', operands: ['%%skip'] }],
    ['rep stosd', { def: undefined, op: 'instruction stosd', operands: [] }],
    ['struc point', { def: 'label point', op: 'directive struc', operands: ['point'] }],
  ])('%s', (line, expected) => {
    expect(shape(line)).toEqual(expected);
  });

  it('finds the comment outside strings', () => {
    const st = parseStatement("    db ';', 0 ; a ';' in a string");
    expect(st.commentStart).toBe(14);
    expect(st.codeEnd).toBe(13);
  });
});

describe('expressions', () => {
  const value = (text: string) => evaluate(tokenize(text).slice(0, -1), (n) => (n === 'K' ? { kind: 'num', n: 5 } : { kind: 'sym', name: n, offset: 0 }));
  it('follows nasm\'s precedence and 32-bit wrap-around', () => {
    expect(value('3 + 3*5')).toEqual({ kind: 'num', n: 18 });
    expect(value('1 << 4 | 1')).toEqual({ kind: 'num', n: 17 });
    expect(value('-1')).toEqual({ kind: 'num', n: 0xffffffff });
    expect(value("'AB'")).toEqual({ kind: 'num', n: 0x4241 });
    expect(value('K * 2 + 1')).toEqual({ kind: 'num', n: 11 });
    expect(value('msg + 4')).toEqual({ kind: 'sym', name: 'msg', offset: 4 });
    expect(value('end - end')).toEqual({ kind: 'num', n: 0 });
    expect(value('[eax]')).toBeUndefined();
  });
});

/** Register values (as hex) before the instruction on the last line. */
function before(source: string): Record<string, string> {
  const index = buildIndex('/t.asm', source);
  const table = new SymbolTable([index]);
  let state: RegisterState = new Map();
  walk(index, table, (v) => { if (v.line === index.lines.length - 1) state = v.before; });
  return Object.fromEntries([...state].map(([r, v]) => [r, v.kind === 'num' ? `0x${v.n.toString(16)}` : `${v.name}+${v.offset}`]));
}

describe('constant propagation', () => {
  it('merges partial registers into known values and forgets unknown ones', () => {
    expect(before('start:\n mov eax, 0x12345678\n mov al, 0xAB\n mov ah, 1\n nop')).toEqual({ eax: '0x123401ab' });
    expect(before('start:\n mov eax, [x]\n mov al, 1\n nop')).toEqual({});
    expect(before('start:\n mov ecx, 0x10000\n mov cx, 2\n inc ecx\n nop')).toEqual({ ecx: '0x10003' });
  });

  it('moves values through xchg, push/pop, lea and arithmetic', () => {
    expect(before('start:\n mov eax, 1\n mov ebx, 2\n xchg eax, ebx\n nop')).toEqual({ eax: '0x2', ebx: '0x1' });
    expect(before('start:\n push 29\n pop edx\n shl edx, 2\n nop')).toEqual({ edx: '0x74' });
    expect(before('msg: db 0\nstart:\n lea esi, [msg + 3]\n add esi, 1\n nop')).toEqual({ esi: 'msg+4' });
    // An address with a register in it, or a name defined nowhere, is not known.
    expect(before('msg: db 0\nstart:\n lea esi, [msg + ebx]\n nop')).toEqual({});
    expect(before('start:\n lea esi, [nowhere + 3]\n nop')).toEqual({});
    expect(before('start:\n mov eax, 5\n neg eax\n not eax\n nop')).toEqual({ eax: '0x4' });
  });

  it('forgets what instructions write implicitly, and everything at calls and labels', () => {
    expect(before('start:\n mov eax, 1\n mov ecx, 3\n mov edx, 9\n cpuid\n nop')).toEqual({});
    expect(before('start:\n mov ecx, 8\n mov edi, 4\n rep stosd\n nop')).toEqual({});
    expect(before('start:\n mov ebx, 7\n mov eax, 1\n call f\n nop')).toEqual({});
    expect(before('start:\n mov ebx, 7\nnext:\n nop')).toEqual({});
    expect(before('start:\n mov ebx, 7\n cmp ebx, 3\n jne start\n nop')).toEqual({ ebx: '0x7' });
    expect(before('start:\n mov ebx, 7\n jmp start\n nop')).toEqual({});
  });

  it('uses %define values as they are where the line is', () => {
    expect(before('%define N 1\nstart:\n mov eax, N\n%define N 2\n mov ebx, N\n nop')).toEqual({ eax: '0x1', ebx: '0x2' });
  });
});

// The vtscope.asm.* settings as nasm's -I and -D: relative include paths resolved against the
// workspace folder, and what cannot be used named.
import { describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => import('./vscodeStub'));
const { checkAsmSettings } = await import('../../src/extension/asmSettings');

describe('checkAsmSettings', () => {
  it('resolves relative include paths against the workspace folder and keeps absolute ones', () => {
    expect(checkAsmSettings(['include', '../shared/inc', '/opt/inc'], { DEBUG: '', SIZE: 4096, 'K.VER': '2' }, '/ws/kernel')).toEqual({
      includePaths: ['/ws/kernel/include', '/ws/shared/inc', '/opt/inc'],
      defines: { DEBUG: '', SIZE: '4096', 'K.VER': '2' },
      problems: [],
    });
  });

  it('names every entry it leaves out', () => {
    expect(checkAsmSettings(['', 7, 'inc'], { '1ST': 'x', OK: 'y', LIST: ['a'] }, undefined)).toEqual({
      includePaths: [],
      defines: { OK: 'y' },
      problems: [
        'vtscope.asm.includePaths: "" is not a directory name',
        'vtscope.asm.includePaths: 7 is not a directory name',
        'vtscope.asm.includePaths: "inc" is relative, and there is no workspace folder to resolve it against',
        'vtscope.asm.defines: "1ST" is not a macro name',
        'vtscope.asm.defines: the value of LIST must be a string',
      ],
    });
    expect(checkAsmSettings('inc', null, '/ws')).toEqual({ includePaths: [], defines: {}, problems: [] });
  });
});

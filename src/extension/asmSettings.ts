/**
 * The assembler settings `vtscope.asm.includePaths` and `vtscope.asm.defines`, as nasm's -I
 * and -D: used by the language server's diagnostics and by the mode comparison, which
 * assembles the guest through the CLI. Relative include paths are relative to the workspace folder.
 */
import { isAbsolute, resolve } from 'node:path';
import * as vscode from 'vscode';

export interface AsmSettings {
  /** Absolute directories searched for `%include` and `incbin` files. */
  includePaths: string[];
  /** `%define NAME VALUE` before the first line. */
  defines: Record<string, string>;
}

/** What nasm (and `vtscope asm -D`) accepts as a macro name. */
const MACRO_NAME = /^[A-Za-z_.?$@][\w.?$@#~]*$/;

/**
 * The settings' values checked: what is usable, and a sentence for each entry left out.
 * `folder` resolves relative include paths; without one they are left out.
 */
export function checkAsmSettings(includePaths: unknown, defines: unknown, folder: string | undefined): AsmSettings & { problems: string[] } {
  const out: AsmSettings & { problems: string[] } = { includePaths: [], defines: {}, problems: [] };
  for (const p of Array.isArray(includePaths) ? includePaths : []) {
    if (typeof p !== 'string' || p === '') out.problems.push(`vtscope.asm.includePaths: ${JSON.stringify(p)} is not a directory name`);
    else if (isAbsolute(p)) out.includePaths.push(p);
    else if (folder !== undefined) out.includePaths.push(resolve(folder, p));
    else out.problems.push(`vtscope.asm.includePaths: "${p}" is relative, and there is no workspace folder to resolve it against`);
  }
  if (typeof defines === 'object' && defines !== null && !Array.isArray(defines)) {
    for (const [name, value] of Object.entries(defines)) {
      if (!MACRO_NAME.test(name)) out.problems.push(`vtscope.asm.defines: "${name}" is not a macro name`);
      else if (typeof value === 'string' || typeof value === 'number') out.defines[name] = String(value);
      else out.problems.push(`vtscope.asm.defines: the value of ${name} must be a string`);
    }
  }
  return out;
}

function folderOf(scope: vscode.Uri | undefined): string | undefined {
  const folder = scope === undefined ? undefined : vscode.workspace.getWorkspaceFolder(scope);
  return (folder ?? vscode.workspace.workspaceFolders?.[0])?.uri.fsPath;
}

/** The settings for a document (or the first workspace folder), with their problems. */
export function asmSettingsWithProblems(scope?: vscode.Uri): AsmSettings & { problems: string[] } {
  const s = vscode.workspace.getConfiguration('vtscope.asm', scope);
  return checkAsmSettings(s.get<unknown>('includePaths', []), s.get<unknown>('defines', {}), folderOf(scope));
}

export function asmSettings(scope?: vscode.Uri): AsmSettings {
  const { includePaths, defines } = asmSettingsWithProblems(scope);
  return { includePaths, defines };
}

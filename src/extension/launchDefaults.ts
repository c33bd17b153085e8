/**
 * How a launch configuration of type `vtscope` is completed before the adapter sees it: the
 * program from the active editor (F5 on a guest source with no launch.json), and the mode,
 * memory size and VMM options from the user's settings. The adapter checks the result
 * (src/debug/launchConfig.ts); this only fills gaps.
 */
import { basename, isAbsolute, relative, sep } from 'node:path';

export const DEBUG_TYPE = 'vtscope';

/** The `vtscope.*` settings that shape a launch. */
export interface GuestSettings {
  defaultMode: string;
  /** `shadow`, `ept`, or `auto`, which leaves the choice to the mode and the cost model. */
  memoryVirtualization: string;
  costModel: string;
  memoryMiB: number;
}

/** A debug configuration as VS Code passes it (vscode.DebugConfiguration). */
export interface LaunchAttributes {
  type: string;
  name: string;
  request: string;
  [attribute: string]: unknown;
}

export type Resolution = { config: LaunchAttributes } | { error: string };

/** The adapter assembles `.asm` sources itself; other guests are built images named in launch.json. */
export function isGuestSource(fileName: string | undefined): fileName is string {
  return fileName !== undefined && /\.asm$/i.test(fileName);
}

/** A launch configuration for `file` in a new launch.json of `folder` (the "initial configuration"). */
export function initialConfiguration(file: string | undefined, folder: string | undefined): LaunchAttributes {
  let program = '${file}';
  if (isGuestSource(file)) {
    const inside = folder === undefined ? undefined : relative(folder, file);
    program = inside !== undefined && !inside.startsWith('..') && !isAbsolute(inside)
      ? `\${workspaceFolder}/${inside.split(sep).join('/')}`
      : file;
  }
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: isGuestSource(file) ? `vtscope: ${basename(file)}` : 'vtscope: active guest source',
    program,
    stopOnEntry: false,
  };
}

/**
 * Completes `config`. `activeFile` is the file of the active text editor. An empty `config`
 * (F5 with no launch.json) becomes a launch of the active guest source.
 */
export function resolveLaunch(config: Partial<LaunchAttributes>, activeFile: string | undefined, settings: GuestSettings): Resolution {
  let c: LaunchAttributes;
  if (config.type === undefined && config.request === undefined && config.name === undefined) {
    if (!isGuestSource(activeFile)) {
      return { error: 'vtscope: open a guest .asm source, or add a "vtscope" configuration to launch.json that names the kernel image in "program"' };
    }
    c = { type: DEBUG_TYPE, request: 'launch', name: `vtscope: ${basename(activeFile)}`, program: activeFile };
  } else {
    c = { ...config, type: config.type ?? DEBUG_TYPE, request: config.request ?? 'launch', name: config.name ?? 'vtscope' };
  }
  if (c.request !== 'launch') {
    return { error: `vtscope: request "${String(c.request)}" is not supported: the debugger launches guests ("request": "launch")` };
  }
  if (c.program === undefined || c.program === '') {
    if (!isGuestSource(activeFile)) {
      return { error: `vtscope: launch configuration "${c.name}" has no "program": name a kernel image or .asm source, or open a guest .asm source first` };
    }
    c.program = activeFile;
  }
  c.mode ??= settings.defaultMode;
  c.memoryMiB ??= settings.memoryMiB;
  // The adapter refuses VMM options where they do not apply: cost models outside native, memVirt outside hw.
  if (c.mode !== 'native') c.costModel ??= settings.costModel;
  if (c.mode === 'hw' && settings.memoryVirtualization !== 'auto') c.memVirt ??= settings.memoryVirtualization;
  return { config: c };
}

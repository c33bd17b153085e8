/**
 * The extension's settings (`vtscope.*`, declared in package.json's `contributes.configuration`).
 * Values go to the adapter as they are: it names a bad one in its launch error.
 */
import * as vscode from 'vscode';
import type { GuestSettings } from './launchDefaults';

export const SECTION = 'vtscope';

export function guestSettings(scope?: vscode.ConfigurationScope): GuestSettings {
  const s = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    defaultMode: s.get<string>('defaultMode', 'native'),
    memoryVirtualization: s.get<string>('memoryVirtualization', 'auto'),
    costModel: s.get<string>('costModel', 'p4-2006'),
    memoryMiB: s.get<number>('memoryMiB', 64),
  };
}

/** How many of the newest exit records the VM Exits view keeps (the record-ring size). */
export function ringRecords(): number {
  const n = vscode.workspace.getConfiguration(SECTION).get<number>('exitLog.ringSize', 4096);
  return Number.isSafeInteger(n) && n >= 1 ? n : 4096;
}

/** Exception vectors (SDM Vol. 3A, table 6-1). */
export const DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
  TS = 10, NP = 11, SS_FAULT = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

export const EXCEPTION_MNEMONICS: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF',
  10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM',
};

/** Exceptions that push an error code (SDM Vol. 3A, 6.13). */
export function pushesErrorCode(vector: number): boolean {
  return vector === DF || (vector >= TS && vector <= PF) || vector === AC;
}

/** Classes for the double-fault rule (SDM Vol. 3A, table 6-5). */
export const enum FaultClass { Benign, Contributory, PageFault }
export function faultClass(vector: number): FaultClass {
  if (vector === PF) return FaultClass.PageFault;
  if (vector === DE || (vector >= TS && vector <= GP)) return FaultClass.Contributory;
  return FaultClass.Benign;
}

/**
 * A guest exception raised while executing an instruction. Thrown (one preallocated
 * instance, so raising allocates nothing) and caught by the run loop, which delivers it.
 */
export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
}

export function describeException(vector: number, errorCode: number, hasErrorCode: boolean): string {
  const name = EXCEPTION_MNEMONICS[vector] ?? `vector ${vector}`;
  return hasErrorCode ? `${name}(0x${errorCode.toString(16)})` : name;
}

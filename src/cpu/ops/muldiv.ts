import { defineOp } from '../opcodeTable';

export function register(): void {
  void defineOp;
}

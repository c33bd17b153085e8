/** The complete opcode map: every ops/ module enters its instructions into the table. */
import * as arith from './ops/arith';
import * as shift from './ops/shift';
import * as muldiv from './ops/muldiv';
import * as bcd from './ops/bcd';
import * as bits from './ops/bits';
import * as move from './ops/move';
import * as stackOps from './ops/stackOps';
import * as control from './ops/control';
import * as string from './ops/string';
import * as flagOps from './ops/flagOps';
import * as io from './ops/io';
import * as misc from './ops/misc';
import * as system from './ops/system';
import * as controlRegs from './ops/controlRegs';
import * as descriptorTables from './ops/descriptorTables';
import * as msr from './ops/msr';
import * as farTransfer from './ops/farTransfer';
import * as iret from './ops/iret';
import * as sysenter from './ops/sysenter';
import * as vmx from './vmx/ops';
import * as x87 from './ops/x87';
import { OPCODE_TABLE } from './opcodeTable';

for (const m of [arith, shift, muldiv, bcd, bits, move, stackOps, control, string, flagOps, io, misc, system, controlRegs, descriptorTables, msr, farTransfer, iret, sysenter, vmx, x87]) m.register();

export const OPCODE_MAP = OPCODE_TABLE;

import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { createVmm } from '../src/vmm/vmm';
import { formatStats } from '../src/vmm/report';

for (const name of ['hello.bin', 'timer.bin', 'syscall.bin', 'paging.bin', 'c-kernel.elf']) {
  for (const mode of ['native', 'hw'] as const) {
    for (const memVirt of mode === 'hw' ? ['ept', 'shadow'] as const : ['ept'] as const) {
    it(`${name} ${mode} ${memVirt}`, () => {
      const vmm = createVmm(mode, { memVirt });
      let out = '';
      vmm.machine.onSerialOutput = (b) => { out += String.fromCharCode(b); };
      vmm.load(new Uint8Array(readFileSync(`/work/main/samples/build/${name}`)));
      const t = Date.now();
      const r = vmm.run({ maxInstructions: 300_000_000 });
      console.log(name, mode, memVirt, Date.now() - t, 'ms', JSON.stringify(r), '\n', out, '\n', formatStats(vmm));
      if (mode === 'hw') console.log(vmm.log.records().slice(0, 12).map((x) => `${x.reason} ${x.eip.toString(16)} ${x.qualification}`).join('\n'));
    }, 60000);
    }
  }
}

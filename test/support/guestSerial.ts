/**
 * NASM source for test kernels: `putc` sends AL on COM1 once the transmitter holding register
 * is empty (LSR bit 5), keeping EAX and EDX.
 */
export const PUTC = `
putc:
  push edx
  push eax
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  pop eax
  mov dx, 0x3f8
  out dx, al
  pop edx
  ret
`;

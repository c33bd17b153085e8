/**
 * How an image says it is a paravirtualized kernel: like a Xen 3 kernel's `__xen_guest`
 * section, it carries the ASCII string `XEN_VER=xen-3.0` (for instance
 * `GUEST_OS=vtscope,XEN_VER=xen-3.0`) within the first 8 KiB of the file, where the
 * Multiboot header is searched too. `vtscope compare` runs such an image under `pv` only: it
 * needs the hypercalls a bare machine does not have.
 */
const SEARCH_LIMIT = 8192;
const MARK = 'XEN_VER=xen-3.0';

export function isPvImage(image: Uint8Array): boolean {
  const end = Math.min(image.length, SEARCH_LIMIT) - MARK.length;
  outer: for (let at = 0; at <= end; at++) {
    for (let k = 0; k < MARK.length; k++) if (image[at + k] !== MARK.charCodeAt(k)) continue outer;
    return true;
  }
  return false;
}

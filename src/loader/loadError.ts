/** An image that cannot be loaded: the message names the file and what is wrong with it. */
export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/** At least 8 hex digits, as addresses are printed throughout vtscope. Values past 4 GiB (the
 *  end of a range that wraps) keep their extra digit rather than being truncated. */
export function hex32(value: number): string {
  return '0x' + value.toString(16).toUpperCase().padStart(8, '0');
}

/** A half-open range [start, end) of physical addresses, printed inclusively like the SDM does. */
export function rangeText(start: number, end: number): string {
  return end > start ? `${hex32(start)}-${hex32(end - 1)}` : `${hex32(start)} (empty)`;
}

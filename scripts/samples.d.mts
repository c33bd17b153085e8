export type SampleKind = 'flat' | 'elf';

export interface Sample {
  name: string;
  /** 'flat': nasm -f bin with Multiboot address fields; 'elf': Multiboot ELF from nasm, gcc and ld. */
  kind: SampleKind;
  /** The mode the sample is written for: 'pv' samples need the hypercalls and run only under `--mode pv`. */
  mode: 'native' | 'pv';
  /** Absolute paths of the files the image is built from. */
  sources: string[];
  /** Absolute path of the built image (.bin or .elf). */
  image: string;
}

export declare class SampleBuildError extends Error {}

export declare const samplesDir: string;
export declare const defaultOutDir: string;

export declare function listSamples(outDir?: string): Sample[];
export declare function buildSamples(opts?: { outDir?: string; names?: string[] }): Sample[];

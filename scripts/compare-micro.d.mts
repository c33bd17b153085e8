export declare const README: string;
export declare const BEGIN: string;
export declare const END: string;
export declare const KERNELS: readonly string[];
export declare const PRESETS: readonly string[];

/** Overhead against native per preset, kernel and column ('trap', 'bt', 'pv', 'hw shadow', 'hw ept'); undefined where the mode does not run. */
export type Overheads = Record<string, Record<string, Record<string, number | undefined>>>;

export declare function microTables(opts?: { jobs?: number }): Promise<{ overhead: Overheads; markdown: string }>;
export declare function readmeTables(text?: string): string;

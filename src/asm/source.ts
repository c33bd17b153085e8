/**
 * Types shared by the assembler's preprocessor, core and language server: where a line of
 * source came from, and what went wrong there.
 */

/** A place in a source file; line and column are 1-based. */
export interface SourceLocation { file: string; line: number; column: number }

export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  location: SourceLocation;
  /** Macro expansion chain, outermost first, when the line came from a macro. */
  expansion?: SourceLocation[];
}

/** One line after preprocessing, with the place the user wrote it. */
export interface ExpandedLine { text: string; location: SourceLocation; expansion?: SourceLocation[] }

/** File access for the assembler: reading sources and resolving `%include` names. */
export interface SourceHost {
  readFile(path: string): string | undefined;
  resolve(fromFile: string, included: string): string;
}

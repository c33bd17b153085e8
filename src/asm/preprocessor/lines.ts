/**
 * Reading a source file as nasm does (asm/preproc.c line_from_file): lines end at LF, CR LF,
 * CR or ^Z; a backslash just before the end of a line joins the next line to it.
 */

export interface SourceLine {
  text: string;
  /** 1-based number of the physical line the logical line starts on. */
  line: number;
}

export class LineReader {
  private readonly text: string;
  private pos = 0;
  private lineNo = 1;

  constructor(text: string) {
    this.text = /[\r\x1a]/.test(text) ? text.replace(/\r\n|\r|\x1a/g, '\n') : text;
  }

  next(): SourceLine | undefined {
    const s = this.text;
    if (this.pos >= s.length) return undefined;
    const line = this.lineNo;
    let nl = s.indexOf('\n', this.pos);
    if (nl < 0) nl = s.length;
    let text = s.slice(this.pos, nl);
    this.pos = nl + 1;
    this.lineNo++;
    if (text.endsWith('\\') && nl < s.length) {
      const parts = [text.slice(0, -1)];
      for (;;) {
        if (this.pos >= s.length) break;
        let e = s.indexOf('\n', this.pos);
        if (e < 0) e = s.length;
        const part = s.slice(this.pos, e);
        this.pos = e + 1;
        this.lineNo++;
        if (part.endsWith('\\') && e < s.length) {
          parts.push(part.slice(0, -1));
          continue;
        }
        parts.push(part);
        break;
      }
      text = parts.join('');
    }
    return { text, line };
  }
}

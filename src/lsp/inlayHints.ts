/**
 * Inlay hints at paravirtual hypercall sites: after each `int 0x82` / `vmcall` whose number is
 * known, the hypercall with its arguments named from the ABI.
 */
import type { InlayHint, Range } from 'vscode-languageserver';
import { hintLabel, type HypercallSite, siteHover } from './hypercallSites';

export function inlayHints(sites: readonly HypercallSite[], range: Range): InlayHint[] {
  const hints: InlayHint[] = [];
  for (const site of sites) {
    if (site.line < range.start.line || site.line > range.end.line) continue;
    const label = hintLabel(site);
    if (label === undefined) continue;
    hints.push({
      position: { line: site.line, character: site.end },
      label,
      paddingLeft: true,
      tooltip: { kind: 'markdown', value: siteHover(site) },
    });
  }
  return hints;
}

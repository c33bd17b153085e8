/**
 * The HTML of the "Mode Comparison" webview: the table and the chart of a comparison, with a
 * Content Security Policy that allows nothing but its own nonce'd stylesheet (no scripts, no
 * remote resources: the chart is inline SVG).
 */
import { CHART_CSS, stackedBarsSvg } from './barChart';
import type { ComparisonModel } from './compareReport';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE_CSS = `
body { color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 20px 20px; }
table { border-collapse: collapse; margin: 12px 0 20px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--vscode-editorWidget-border, #8884); }
th { text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: var(--vscode-descriptionForeground); }
`;

const COLUMNS: { title: string; numeric: boolean }[] = [
  { title: 'mode', numeric: false }, { title: 'same output as native', numeric: false },
  { title: 'instructions', numeric: true }, { title: 'VMM events', numeric: true },
  { title: 'emulated cycles', numeric: true }, { title: 'overhead', numeric: true }, { title: 'holes', numeric: true },
  { title: 'note', numeric: false },
];

export function comparisonHtml(model: ComparisonModel, nonce: string): string {
  const header = COLUMNS.map((c) => `<th>${c.title}</th>`).join('');
  const rows = model.table.map((r) => {
    const cells = [r.mode, r.sameOutput, r.instructions, r.events, r.cycles, r.overhead, r.holes, r.note ?? ''];
    return `<tr>${cells.map((c, k) => `<td${COLUMNS[k].numeric ? ' class="n"' : k === 7 ? ' class="note"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
  }).join('\n');
  const chartTitle = `Emulated cycles per mode, by what they were spent on: ${model.title}`;
  const chart = model.bars.length === 0
    ? '<p class="note">No mode ran this guest, so there is nothing to chart.</p>'
    : stackedBarsSvg(model.bars, model.series, chartTitle);
  const unitemized = model.unitemized.length === 0 ? ''
    : `<p class="note">This vtscope compare does not itemize the VMM's cycles by event kind, so the bars of ${escapeHtml(model.unitemized.join(', '))} are not split.</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Mode Comparison</title>
<style nonce="${nonce}">${PAGE_CSS}
${CHART_CSS}</style>
</head>
<body>
<h2>${escapeHtml(model.title)}</h2>
<table>
<thead><tr>${header}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<h3>Emulated cycles</h3>
${chart}
${unitemized}
</body>
</html>
`;
}

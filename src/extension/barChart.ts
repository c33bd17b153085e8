/**
 * A horizontal stacked bar chart as inline SVG text: one bar per label, one coloured segment
 * per series, a cycle axis with round ticks and a legend. Colours come from CSS classes
 * (`CHART_CSS`), so that a page whose CSP forbids inline style attributes can still theme it.
 */
import type { Bar } from './compareReport';

const WIDTH = 720;
const LABEL_WIDTH = 96;
/** Room right of the longest bar for its total. */
const TOTAL_WIDTH = 96;
const BAR_HEIGHT = 22;
const BAR_GAP = 10;
const AXIS_HEIGHT = 28;
const LEGEND_ROW = 20;
const PLOT_LEFT = LABEL_WIDTH;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - TOTAL_WIDTH;

/** Theme colours of VS Code's charts, with fallbacks for a page outside the editor. */
const PALETTE = [
  'var(--vscode-charts-blue, #3794ff)', 'var(--vscode-charts-orange, #d18616)', 'var(--vscode-charts-red, #f14c4c)',
  'var(--vscode-charts-green, #89d185)', 'var(--vscode-charts-purple, #b180d7)', 'var(--vscode-charts-yellow, #cca700)',
  'var(--vscode-terminal-ansiCyan, #11a8cd)', 'var(--vscode-terminal-ansiBrightBlack, #666666)',
];

export const CHART_CSS = [
  '.chart text { fill: var(--vscode-foreground, #333); font-family: var(--vscode-font-family, sans-serif); font-size: 12px; }',
  '.chart .grid { stroke: var(--vscode-charts-lines, #8886); stroke-width: 1; }',
  ...PALETTE.map((c, k) => `.chart .s${k} { fill: ${c}; }`),
].join('\n');

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The axis step: 1, 2 or 5 times a power of ten, giving about five ticks up to `max`. */
export function niceStep(max: number): number {
  if (!(max > 0)) return 1;
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

/** 1500 -> "1.5k", 2000000 -> "2M". */
export function shortCount(n: number): string {
  for (const [unit, size] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(2))}${unit}`;
  }
  return String(n);
}

const round = (x: number): number => Math.round(x * 100) / 100;
const thousands = new Intl.NumberFormat('en-US');

/** The chart of `bars`, their segments coloured by their series' place in `series`. */
export function stackedBarsSvg(bars: readonly Bar[], series: readonly string[], title: string): string {
  const totals = bars.map((b) => b.segments.reduce((sum, s) => sum + s.cycles, 0));
  const step = niceStep(Math.max(0, ...totals));
  const axisMax = Math.max(step, Math.ceil(Math.max(0, ...totals) / step) * step);
  const x = (cycles: number): number => round(PLOT_LEFT + (cycles / axisMax) * PLOT_WIDTH);
  const plotHeight = bars.length * (BAR_HEIGHT + BAR_GAP);
  const height = plotHeight + AXIS_HEIGHT + series.length * LEGEND_ROW + 8;
  const out: string[] = [];
  out.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}">`);
  out.push(`<title>${escapeXml(title)}</title>`);
  for (let t = 0; t <= axisMax; t += step) {
    out.push(`<line class="grid" x1="${x(t)}" y1="0" x2="${x(t)}" y2="${plotHeight}"/>`);
    out.push(`<text x="${x(t)}" y="${plotHeight + 16}" text-anchor="middle">${shortCount(t)}</text>`);
  }
  bars.forEach((b, k) => {
    const y = k * (BAR_HEIGHT + BAR_GAP) + BAR_GAP / 2;
    out.push(`<text x="${PLOT_LEFT - 8}" y="${y + BAR_HEIGHT / 2 + 4}" text-anchor="end">${escapeXml(b.label)}</text>`);
    let at = 0;
    for (const s of b.segments) {
      const share = totals[k] === 0 ? 0 : (100 * s.cycles) / totals[k];
      out.push(`<rect class="s${series.indexOf(s.series) % PALETTE.length}" x="${x(at)}" y="${y}" width="${round(x(at + s.cycles) - x(at))}" height="${BAR_HEIGHT}">`
        + `<title>${escapeXml(`${b.label}: ${s.series}: ${thousands.format(s.cycles)} cycles (${share.toFixed(1)}%)`)}</title></rect>`);
      at += s.cycles;
    }
    out.push(`<text x="${x(at) + 6}" y="${y + BAR_HEIGHT / 2 + 4}">${thousands.format(totals[k])}</text>`);
  });
  series.forEach((name, k) => {
    const y = plotHeight + AXIS_HEIGHT + k * LEGEND_ROW;
    out.push(`<rect class="s${k % PALETTE.length}" x="${PLOT_LEFT}" y="${y}" width="12" height="12"/>`);
    out.push(`<text x="${PLOT_LEFT + 18}" y="${y + 10}">${escapeXml(name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  /** Drawn as bars (counts per bucket) rather than a line. */
  readonly bars?: boolean;
  /** Second y axis (right), e.g. seconds next to a percentage. */
  readonly right?: boolean;
  readonly unit?: string;
  /** Mark every value (for series with gaps, where a lone value has no line). */
  readonly points?: boolean;
}

interface ChartProps {
  /** Accessible name of the chart (an `img` role with a summary). */
  readonly title: string;
  readonly summary: string;
  readonly x: readonly number[];
  readonly series: readonly ChartSeries[];
  readonly height?: number;
}

const HEIGHT = 200;

/**
 * One uPlot chart sized to its container's width at a fixed height (no layout jump when data
 * changes: the plot is updated in place with `setData`).
 */
export function Chart({ title, summary, x, series, height = HEIGHT }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}|${s.bars ? 1 : 0}|${s.right ? 1 : 0}`).join(',');

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the series' shape changes; data goes through setData below
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const hasRight = series.some((s) => s.right);
    const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        {},
        { scale: 'y', size: 50 },
        ...(hasRight ? [{ scale: 'r', side: 1 as const, size: 50, grid: { show: false } }] : []),
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.bars ? 0 : 2,
          scale: s.right ? 'r' : 'y',
          spanGaps: false,
          // A lone value between empty buckets has no line to draw: its point shows it.
          points: { show: s.points === true, size: 6, fill: s.color },
          ...(s.bars && bars ? { paths: bars, fill: `${s.color}aa` } : {}),
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : `${v}${s.unit ? ` ${s.unit}` : ''}`),
        })),
      ],
    };
    if (hasRight) opts.scales = { ...opts.scales, r: { range: (_u, _min, max) => [0, Math.max(1, max)] } };
    const u = new uPlot(opts, [x as number[], ...series.map((s) => s.values as (number | null)[])], el);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData([x as number[], ...series.map((s) => s.values as (number | null)[])]);
  }, [x, series]);

  return (
    <figure className="stats-chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} style={{ minHeight: height + 40 }} />
    </figure>
  );
}

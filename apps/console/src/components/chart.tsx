import type { EChartsCoreOption } from 'echarts/core';
import { useEffect, useRef } from 'react';

type Engine = typeof import('./echarts-engine.js');
let engine: Promise<Engine> | undefined;
const loadEngine = () => {
  engine ??= import('./echarts-engine.js');
  return engine;
};

function themeColours() {
  const css = getComputedStyle(document.documentElement);
  return {
    text: css.getPropertyValue('--text').trim() || '#1b1f24',
    muted: css.getPropertyValue('--text-muted').trim() || '#4f5967',
    border: css.getPropertyValue('--border').trim() || '#d5dae1',
  };
}

/**
 * One ECharts chart. `label` names it for screen readers (the canvas itself says nothing), and
 * `summary` is the same data as text for those who cannot see it.
 */
export function Chart({
  option,
  label,
  summary,
  height = 280,
}: {
  option: EChartsCoreOption;
  label: string;
  summary?: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let disposed = false;
    let chart: { setOption(o: unknown): void; resize(): void; dispose(): void } | undefined;
    const onResize = () => chart?.resize();
    void loadEngine().then(({ init }) => {
      if (disposed || !box.current) return;
      const c = themeColours();
      chart = init(box.current, undefined, { renderer: 'canvas' });
      const themed: Record<string, unknown> = { ...option };
      // Legends and colour scales draw their own text on the canvas: give them the theme's colour.
      if (themed.legend) themed.legend = { ...(themed.legend as object), textStyle: { color: c.text } };
      if (themed.visualMap)
        themed.visualMap = { ...(themed.visualMap as object), textStyle: { color: c.text } };
      chart.setOption({
        backgroundColor: 'transparent',
        textStyle: { color: c.text },
        // Rich-text tooltips draw on the canvas: no HTML with inline styles (the CSP forbids them).
        tooltip: { renderMode: 'richText', trigger: 'item' },
        ...themed,
      });
      window.addEventListener('resize', onResize);
    });
    return () => {
      disposed = true;
      window.removeEventListener('resize', onResize);
      chart?.dispose();
    };
  }, [option]);
  return (
    <figure className="stack" style={{ margin: 0 }}>
      <div ref={box} className="chart" role="img" aria-label={label} style={{ height }} />
      {summary ? <figcaption className="muted">{summary}</figcaption> : null}
    </figure>
  );
}

/** Axis styling that follows the theme. */
export function axis(extra: Record<string, unknown> = {}) {
  const c = themeColours();
  return {
    axisLine: { lineStyle: { color: c.border } },
    axisLabel: { color: c.muted },
    splitLine: { lineStyle: { color: c.border, opacity: 0.5 } },
    ...extra,
  };
}

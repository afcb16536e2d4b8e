// ECharts, imported piece by piece so the bundle holds only what we draw.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, GraphChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkAreaComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { h, fmtBytes, fmtNum } from './ui';

echarts.use([LineChart, BarChart, GraphChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkAreaComponent, CanvasRenderer]);

const live = new Set<echarts.ECharts>();

// disposeCharts frees the charts of the page being left.
export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

window.addEventListener('resize', () => live.forEach((c) => c.resize()));

const text = '#c9d4df';
const axis = { axisLine: { lineStyle: { color: '#4b5a69' } }, axisLabel: { color: text }, splitLine: { lineStyle: { color: '#26323e' } } };

// chartBox makes the element a chart is drawn in. data-chart names it and
// data-points tells (tests, people) how many points it shows.
export function chartBox(name: string, height = 280): HTMLElement {
  return h('div', { class: 'chart', dataset: { chart: name }, style: `height:${height}px` });
}

function mount(el: HTMLElement, option: any, points: number) {
  const c = echarts.init(el, undefined, { renderer: 'canvas' });
  c.setOption({ backgroundColor: 'transparent', textStyle: { color: text }, animation: false, ...option });
  live.add(c);
  el.dataset.points = String(points);
  return c;
}

export interface Series {
  name: string;
  data: [number, number][]; // [epoch ms, value]
  color?: string;
  stack?: string;
  area?: boolean;
  yAxis?: number;
}

export function timeChart(el: HTMLElement, series: Series[], opts: { bytes?: boolean[]; markFrom?: number; markTo?: number } = {}) {
  const points = series.reduce((n, s) => n + s.data.length, 0);
  const fmt = (i: number) => (opts.bytes?.[i] ? (v: number) => fmtBytes(v) : (v: number) => fmtNum(v));
  const yAxes = (opts.bytes ?? [false]).map((_, i) => ({ type: 'value', ...axis, axisLabel: { color: text, formatter: fmt(i) } }));
  return mount(el, {
    tooltip: { trigger: 'axis' },
    legend: { textStyle: { color: text }, top: 0 },
    grid: { left: 70, right: yAxes.length > 1 ? 70 : 20, top: 30, bottom: 50 },
    xAxis: { type: 'time', ...axis },
    yAxis: yAxes,
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 16, bottom: 8 }],
    series: series.map((s, i) => ({
      name: s.name, type: 'line', showSymbol: false, data: s.data, stack: s.stack, yAxisIndex: s.yAxis ?? 0,
      areaStyle: s.area ? { opacity: 0.35 } : undefined, lineStyle: { width: 1.5 }, color: s.color,
      markArea: i === 0 && opts.markFrom ? { itemStyle: { color: 'rgba(248,113,113,0.12)' }, data: [[{ xAxis: opts.markFrom }, { xAxis: opts.markTo }]] } : undefined,
    })),
  }, points);
}

export function barChart(el: HTMLElement, labels: string[], values: number[], opts: { color?: string | string[]; horizontal?: boolean; bytes?: boolean } = {}) {
  const cat = { type: 'category', data: labels, ...axis, axisLabel: { color: text, interval: 0, width: 120, overflow: 'truncate' } };
  const val = { type: 'value', ...axis, axisLabel: { color: text, formatter: opts.bytes ? fmtBytes : fmtNum } };
  const colors = Array.isArray(opts.color) ? opts.color : null;
  return mount(el, {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: opts.horizontal ? 130 : 60, right: 20, top: 20, bottom: 40 },
    xAxis: opts.horizontal ? val : cat,
    yAxis: opts.horizontal ? { ...cat, inverse: true } : val,
    series: [{ type: 'bar', data: values.map((v, i) => ({ value: v, itemStyle: colors ? { color: colors[i % colors.length] } : undefined })), color: Array.isArray(opts.color) ? undefined : opts.color ?? '#60a5fa' }],
  }, values.length);
}

export interface Edge {
  src: string;
  dst: string;
  bytes: number;
  rejected: number;
}

// peerGraph draws who talked to whom; the entity is the centre node.
export function peerGraph(el: HTMLElement, center: string, edges: Edge[], onClick: (node: string) => void) {
  const nodes = new Map<string, number>();
  for (const e of edges) {
    nodes.set(e.src, (nodes.get(e.src) ?? 0) + e.bytes);
    nodes.set(e.dst, (nodes.get(e.dst) ?? 0) + e.bytes);
  }
  const max = Math.max(1, ...nodes.values());
  const c = mount(el, {
    tooltip: { formatter: (p: any) => (p.dataType === 'edge' ? `${p.data.source} → ${p.data.target}<br>${fmtBytes(p.data.bytes)}, ${p.data.rejected} rejected` : `${p.name}<br>${fmtBytes(nodes.get(p.name))}`) },
    series: [{
      type: 'graph', layout: 'force', roam: true, draggable: true,
      force: { repulsion: 220, edgeLength: [60, 160] },
      label: { show: true, color: text, fontSize: 11, position: 'right' },
      edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 6,
      data: [...nodes.entries()].map(([name, b]) => ({
        name, symbolSize: 10 + 26 * Math.sqrt(b / max),
        itemStyle: { color: name === center ? '#f59e0b' : /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/.test(name) ? '#60a5fa' : '#a78bfa' },
      })),
      links: edges.map((e) => ({ source: e.src, target: e.dst, bytes: e.bytes, rejected: e.rejected,
        lineStyle: { color: e.rejected > 0 ? '#f87171' : '#64748b', width: 1 + 3 * Math.sqrt(e.bytes / max), curveness: 0.1 } })),
    }],
  }, nodes.size);
  c.on('click', (p: any) => {
    if (p.dataType === 'node') onClick(p.name);
  });
  return c;
}

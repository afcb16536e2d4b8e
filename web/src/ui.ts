// DOM helpers: small, explicit, no framework.

type Child = Node | string | number | null | undefined | false;
// Kids are children, possibly in nested arrays (flattened when added).
export type Kids = Child | Kids[];

export function h(tag: string, attrs: Record<string, any> = {}, ...children: Kids[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of (children as unknown[]).flat(Infinity) as Child[]) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function fmtNum(v: unknown): string {
  const n = Number(v);
  if (v === null || v === undefined || v === '' || Number.isNaN(n)) return v === null || v === undefined ? '' : String(v);
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(2) + ' G';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + ' M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + ' k';
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

export function fmtBytes(v: unknown): string {
  let n = Number(v);
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}

export function fmtTime(v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$|:\d\dZ$/, 'Z');
}

const ipRe = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f:]+:[0-9a-f:]*$/i;

// entityLink turns addresses, ENIs and instances into links to their page.
export function entityLink(v: unknown): Node {
  const s = v === null || v === undefined ? '' : String(v);
  let kind = '';
  if (ipRe.test(s)) kind = 'ip';
  else if (s.startsWith('eni-')) kind = 'eni';
  else if (/^i-[0-9a-f]+$/.test(s)) kind = 'instance';
  if (!kind) return document.createTextNode(s);
  return h('a', { href: `#/entity/${kind}/${encodeURIComponent(s)}`, class: 'ent' }, s);
}

export function sevBadge(sev: string): HTMLElement {
  return h('span', { class: `sev sev-${sev}` }, sev);
}

export interface TableOpts {
  cell?: (col: string, v: unknown, row: unknown[]) => Node | string;
  limit?: number;
  empty?: string;
}

const timeCols = new Set(['start', 'end', 't', 'first', 'last', 'first_seen', 'last_seen']);

export function defaultCell(col: string, v: unknown): Node | string {
  const c = col.toLowerCase();
  if (/(addr|^ip|_ip$|interface_id|instance_id|^peer|^eni)/.test(c)) return entityLink(v);
  if (timeCols.has(c) && typeof v === 'number' && v > 1e9) return fmtTime(v);
  if (c.includes('bytes') && typeof v === 'number') return fmtBytes(v);
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v === null || v === undefined ? '' : String(v);
}

export function table(columns: string[], rows: unknown[][], opts: TableOpts = {}): HTMLElement {
  if (!rows.length) return h('p', { class: 'muted' }, opts.empty ?? 'No rows.');
  const cell = opts.cell ?? defaultCell;
  const shown = opts.limit ? rows.slice(0, opts.limit) : rows;
  return h('div', { class: 'tablewrap' },
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
      h('tbody', {}, shown.map((r) => h('tr', {}, r.map((v, i) => h('td', { class: typeof v === 'number' ? 'num' : '' }, cell(columns[i], v, r))))))));
}

export function card(title: string, ...body: Kids[]): HTMLElement {
  return h('section', { class: 'card' }, h('h3', {}, title), ...body);
}

export function stat(label: string, value: string, cls = ''): HTMLElement {
  return h('div', { class: 'stat ' + cls }, h('div', { class: 'v' }, value), h('div', { class: 'l' }, label));
}

export function errorBox(err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  return h('div', { class: 'error', role: 'alert' }, msg);
}

export function toCSV(columns: string[], rows: unknown[][]): string {
  const esc = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [columns.map(esc).join(','), ...rows.map((r) => r.map(esc).join(','))].join('\r\n') + '\r\n';
}

import { api, runQuery, withRange, Result, Finding } from './api';
import { h, card, stat, table, errorBox, fmtBytes, fmtNum, fmtTime, sevBadge, entityLink, toCSV, defaultCell } from './ui';
import { chartBox, timeChart, barChart, peerGraph, Series } from './charts';

const sevColors: Record<string, string> = { critical: '#dc2626', high: '#f97316', medium: '#eab308', low: '#38bdf8', info: '#94a3b8' };
const severities = ['critical', 'high', 'medium', 'low', 'info'];

function col(res: Result, name: string): number {
  return res.columns.indexOf(name);
}

// ---------------------------------------------------------------- overview

export async function overview(app: HTMLElement) {
  const ov: any = await api.get(withRange('/overview'));
  const t = ov.totals;
  const traffic = chartBox('traffic', 300);
  const flows = chartBox('flows', 220);
  const sev = chartBox('severity', 220);
  const rejected = chartBox('rejected', 260);
  const ing = ov.ingest || {};
  app.append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'stats' },
      stat('flow records', fmtNum(t.flows)),
      stat('bytes', fmtBytes(t.bytes)),
      stat('rejected', fmtNum(t.rejected), 'bad'),
      stat('ENIs', fmtNum(t.enis)),
      stat('from', fmtTime(t.first)),
      stat('to', fmtTime(t.last))),
    card('Traffic over time: bytes accepted vs rejected', traffic),
    card('Flows over time', flows),
    h('div', { class: 'cols' },
      card('Top talkers (bytes sent)', table(ov.top_talkers.columns, ov.top_talkers.rows)),
      card('Top rejected sources', rejected, table(ov.top_rejected.columns, ov.top_rejected.rows))),
    h('div', { class: 'cols' },
      card('Open findings by severity', sev, h('p', {}, h('a', { href: '#/findings' }, 'All findings →'))),
      card('Ingest health',
        h('dl', { class: 'kv' },
          h('dt', {}, 'objects stored'), h('dd', {}, fmtNum(ing.objects ?? '—')),
          h('dt', {}, 'bad lines quarantined'), h('dd', { class: Number(ing.bad_lines) > 0 ? 'warn' : '' }, fmtNum(ing.bad_lines ?? '—')),
          h('dt', {}, 'records via this server'), h('dd', {}, fmtNum(ing.server_records)),
          h('dt', {}, 'Firehose records'), h('dd', {}, fmtNum(ing.firehose_records))),
        h('h4', {}, 'Top destination ports'),
        table(ov.top_ports.columns, ov.top_ports.rows))),
  );
  const s = ov.series as Result;
  const ti = col(s, 't'), ai = col(s, 'action'), bi = col(s, 'bytes'), fi = col(s, 'flows');
  const by = (action: string, vi: number) => s.rows.filter((r) => r[ai] === action).map((r) => [Number(r[ti]) * 1000, Number(r[vi])] as [number, number]);
  timeChart(traffic, [
    { name: 'accepted bytes', data: by('ACCEPT', bi), color: '#34d399', area: true, stack: 'b' },
    { name: 'rejected bytes', data: by('REJECT', bi), color: '#f87171', area: true, stack: 'b' },
  ], { bytes: [true] });
  timeChart(flows, [
    { name: 'accepted flows', data: by('ACCEPT', fi), color: '#34d399' },
    { name: 'rejected flows', data: by('REJECT', fi), color: '#f87171' },
  ]);
  const tr = ov.top_rejected as Result;
  barChart(rejected, tr.rows.map((r) => String(r[0])), tr.rows.map((r) => Number(r[1])), { color: '#f87171', horizontal: true });
  const counts = ov.findings_by_severity || {};
  barChart(sev, severities, severities.map((x) => counts[x] || 0), { color: severities.map((x) => sevColors[x]) });
}

// ---------------------------------------------------------------- findings

export async function findings(app: HTMLElement, params: URLSearchParams) {
  const sevSel = h('select', { name: 'severity' }, h('option', { value: '' }, 'any severity'), severities.slice(0, 4).map((s) => h('option', { value: s }, `≥ ${s}`))) as HTMLSelectElement;
  const statusSel = h('select', { name: 'status' }, ['all', 'open', 'acknowledged', 'false_positive', 'resolved'].map((s) => h('option', { value: s }, s))) as HTMLSelectElement;
  const detSel = h('select', { name: 'detector' }, h('option', { value: '' }, 'any detector')) as HTMLSelectElement;
  const text = h('input', { name: 'q', placeholder: 'search title, IP, MITRE…', type: 'search' }) as HTMLInputElement;
  sevSel.value = params.get('severity') ?? '';
  statusSel.value = params.get('status') ?? 'open';
  text.value = params.get('q') ?? '';
  const list = h('div', { id: 'findings-list' });
  const apply = () => {
    const q = new URLSearchParams();
    if (sevSel.value) q.set('severity', sevSel.value);
    q.set('status', statusSel.value);
    if (detSel.value) q.set('detector', detSel.value);
    if (text.value) q.set('q', text.value);
    history.replaceState(null, '', '#/findings?' + q.toString());
    load(q);
  };
  const load = async (q: URLSearchParams) => {
    list.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res: any = await api.get('/findings?' + q.toString());
      if (detSel.options.length === 1) {
        for (const d of Object.keys(res.detectors || {}).sort()) detSel.append(h('option', { value: d }, d));
        detSel.value = params.get('detector') ?? '';
      }
      list.replaceChildren(h('p', { class: 'muted' }, `${res.total} findings`), findingsTable(res.findings));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  for (const el of [sevSel, statusSel, detSel]) el.addEventListener('change', apply);
  text.addEventListener('input', () => {
    clearTimeout((text as any)._t);
    (text as any)._t = setTimeout(apply, 250);
  });
  app.append(h('h1', {}, 'Findings'), h('div', { class: 'filters' }, sevSel, statusSel, detSel, text), list);
  const q = new URLSearchParams(params);
  if (!q.has('status')) q.set('status', 'open');
  await load(q);
}

export function findingsTable(fs: Finding[]): HTMLElement {
  if (!fs.length) return h('p', { class: 'muted' }, 'No findings.');
  return h('div', { class: 'tablewrap' }, h('table', { class: 'grid findings' },
    h('thead', {}, h('tr', {}, ['severity', 'finding', 'entity', 'detector', 'MITRE', 'first seen', 'last seen', 'score', 'status'].map((c) => h('th', {}, c)))),
    h('tbody', {}, fs.map((f) => h('tr', {},
      h('td', {}, sevBadge(f.severity)),
      h('td', {}, h('a', { href: `#/finding/${encodeURIComponent(f.id)}`, class: 'finding-link' }, f.title)),
      h('td', {}, entityLink(f.entity.value)),
      h('td', {}, f.detector),
      h('td', {}, (f.mitre || []).join(' ')),
      h('td', {}, fmtTime(f.first_seen)),
      h('td', {}, fmtTime(f.last_seen)),
      h('td', { class: 'num' }, fmtNum(f.score)),
      h('td', {}, f.status || 'open'))))));
}

// ---------------------------------------------------------------- finding

export async function finding(app: HTMLElement, id: string) {
  const res: any = await api.get('/findings/' + encodeURIComponent(id));
  const f: Finding = res.finding;
  const status = h('span', { class: 'status', id: 'finding-status' }, f.status || 'open');
  const buttons = ['open', 'acknowledged', 'false_positive', 'resolved'].map((s) =>
    h('button', { class: 'btn', 'data-status': s, onclick: async () => {
      const r: any = await api.post(`/findings/${encodeURIComponent(id)}/status`, { status: s });
      status.textContent = r.finding.status;
    } }, s.replace('_', ' ')));
  const timeline = chartBox('timeline', 240);
  const ev: Result | undefined = res.evidence;
  app.append(
    h('p', {}, h('a', { href: '#/findings' }, '← Findings')),
    h('h1', {}, sevBadge(f.severity), ' ', f.title),
    h('div', { class: 'cols' },
      card('Finding',
        h('dl', { class: 'kv' },
          h('dt', {}, 'detector'), h('dd', {}, f.detector),
          h('dt', {}, 'entity'), h('dd', {}, f.entity.kind + ' ', entityLink(f.entity.value)),
          h('dt', {}, 'counterparts'), h('dd', {}, counterparts(f.counterparts || [])),
          h('dt', {}, 'ports'), h('dd', {}, (f.ports || []).join(', ')),
          h('dt', {}, 'MITRE ATT&CK'), h('dd', { class: 'mitre' }, (f.mitre || []).map((m) => h('span', { class: 'tag' }, m))),
          h('dt', {}, 'first seen'), h('dd', {}, fmtTime(f.first_seen)),
          h('dt', {}, 'last seen'), h('dd', {}, fmtTime(f.last_seen)),
          h('dt', {}, 'score'), h('dd', {}, fmtNum(f.score)),
          h('dt', {}, 'status'), h('dd', {}, status),
          h('dt', {}, 'id'), h('dd', { class: 'mono' }, f.id),
          (f.links || []).length ? [h('dt', {}, 'links'), h('dd', {}, (f.links || []).join(', '))] : null),
        h('div', { class: 'buttons' }, buttons)),
      card('Evidence', h('dl', { class: 'kv' }, Object.entries(f.evidence || {}).map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))])))),
    card('Timeline of the evidence flows', timeline),
    card('Reproducing SQL',
      h('pre', { class: 'sql', id: 'finding-sql' }, f.sql),
      h('button', { class: 'btn primary', id: 'run-in-console', onclick: () => { location.hash = '#/query?sql=' + encodeURIComponent(f.sql); } }, 'Run in console')),
    card(`Evidence flows${ev ? ` (${ev.rows.length}${ev.truncated ? '+' : ''})` : ''}`,
      ev ? table(ev.columns, ev.rows, { limit: 200 }) : errorBox(res.evidence_error || 'no evidence query')),
  );
  timeChart(timeline, [{ name: 'evidence flows', data: evidenceTimeline(ev, f), color: '#f97316', area: true }],
    { markFrom: Date.parse(f.first_seen), markTo: Date.parse(f.last_seen) });
}

// counterparts lists the first addresses as links and counts the rest.
function counterparts(list: string[]): (Node | string)[] {
  const shown = list.slice(0, 24).flatMap((c, i) => (i ? [', ', entityLink(c)] : [entityLink(c)]));
  if (list.length > 24) shown.push(h('span', { class: 'muted' }, ` and ${list.length - 24} more`));
  return shown;
}

// evidenceTimeline counts evidence flows per time bucket, with the bucket
// width fitted to their span and empty buckets drawn as zero, over the
// finding's window when the evidence has no time column.
function evidenceTimeline(ev: Result | undefined, f: Finding): [number, number][] {
  const times: number[] = [];
  if (ev) {
    const ti = ev.columns.findIndex((c) => ['start', 'ts_start', 't', 'first_seen', 'time', 'window_start'].includes(c.toLowerCase()));
    if (ti >= 0) {
      for (const r of ev.rows) {
        const v = r[ti];
        const ms = typeof v === 'number' ? v * 1000 : Date.parse(String(v));
        if (!Number.isNaN(ms)) times.push(ms);
      }
    }
  }
  let lo = Math.min(...times), hi = Math.max(...times);
  if (!times.length) {
    lo = Date.parse(f.first_seen);
    hi = Date.parse(f.last_seen);
  }
  const steps = [10e3, 60e3, 300e3, 600e3, 3600e3, 6 * 3600e3, 86400e3];
  const width = steps.find((w) => (hi - lo) / w <= 60) ?? 86400e3;
  const start = Math.floor(lo / width) * width - width;
  const n = Math.floor((hi - start) / width) + 2;
  const counts = new Array(n).fill(0);
  for (const t of times) counts[Math.floor((t - start) / width)]++;
  return counts.map((c, i) => [start + i * width, c] as [number, number]);
}

// ---------------------------------------------------------------- entity

export async function entity(app: HTMLElement, kind: string, value: string) {
  const e: any = await api.get(withRange(`/entities/${kind}/${encodeURIComponent(value)}`));
  const vol = chartBox('volume', 280);
  const graph = chartBox('peers', 420);
  app.append(
    h('h1', {}, `${kind} `, h('span', { class: 'mono' }, e.value)),
    h('div', { class: 'stats' },
      stat('flow records', fmtNum(e.totals.flows)),
      stat('bytes', fmtBytes(e.totals.bytes)),
      stat('rejected', fmtNum(e.totals.rejected), 'bad'),
      stat('first', fmtTime(e.totals.first)),
      stat('last', fmtTime(e.totals.last))),
    card('Volume over time', vol),
    h('div', { class: 'cols' },
      card('Peers', graph),
      card('Inventory', e.inventory ? kv(e.inventory) : h('p', { class: 'muted' }, 'No inventory context for this entity (load describe-* output).'))),
    h('div', { class: 'cols' },
      card('Ports', table(e.ports.columns, e.ports.rows)),
      card('Findings', e.findings && e.findings.length ? findingsTable(e.findings) : h('p', { class: 'muted' }, 'No findings.'))),
    card('Latest flows', table(e.flows.columns, e.flows.rows)),
  );
  const s = e.series as Result;
  const ti = col(s, 't');
  const series = (name: string, color: string) => s.rows.map((r) => [Number(r[ti]) * 1000, Number(r[col(s, name)])] as [number, number]);
  timeChart(vol, [
    { name: 'bytes in', data: series('bytes_in', '#60a5fa'), color: '#60a5fa', area: true },
    { name: 'bytes out', data: series('bytes_out', '#f59e0b'), color: '#f59e0b', area: true },
    { name: 'rejected flows', data: series('rejected', '#f87171'), color: '#f87171', yAxis: 1 },
  ], { bytes: [true, false] });
  const ed = e.edges as Result;
  peerGraph(graph, e.value, ed.rows.map((r) => ({ src: String(r[0]), dst: String(r[1]), bytes: Number(r[2]), rejected: Number(r[4]) })), (node) => {
    location.hash = `#/entity/ip/${encodeURIComponent(node)}`;
  });
}

function kv(o: any): HTMLElement {
  if (o === null || typeof o !== 'object') return h('span', {}, String(o));
  if (Array.isArray(o)) return h('span', {}, o.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', '));
  return h('dl', { class: 'kv' }, Object.entries(o).map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'object' && v !== null ? kv(v) : defaultCell(k, v))]));
}

// ---------------------------------------------------------------- query

export async function query(app: HTMLElement, params: URLSearchParams) {
  const samples: any[] = await api.get('/samples');
  let mode = params.get('mode') === 'insights' ? 'insights' : 'sql';
  const editor = h('textarea', { id: 'query-text', spellcheck: 'false', rows: 8 }) as HTMLTextAreaElement;
  editor.value = params.get('sql') ?? params.get('q') ?? samples[0]?.query ?? '';
  const modeBtns = ['sql', 'insights'].map((m) => h('button', { class: 'btn seg', 'data-mode': m, onclick: () => setMode(m) }, m === 'sql' ? 'SQL' : 'Logs Insights'));
  const setMode = (m: string) => {
    mode = m;
    modeBtns.forEach((b) => b.classList.toggle('on', b.dataset.mode === m));
  };
  setMode(mode);
  const out = h('div', { id: 'query-result' });
  const run = h('button', { class: 'btn primary', id: 'run-query', onclick: () => exec() }, 'Run  (Ctrl-Enter)');
  editor.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      exec();
    }
  });
  let last: Result | null = null;
  const exec = async () => {
    out.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    const res = await runQuery(editor.value, mode);
    last = res;
    if (res.error) {
      out.replaceChildren(errorBox(res.error), res.sql ? h('pre', { class: 'sql' }, res.sql) : '');
      return;
    }
    const chart = chartBox('result', 260);
    out.replaceChildren(
      h('div', { class: 'resbar' },
        h('span', { id: 'result-count' }, `${res.rows.length} rows${res.truncated ? ' (truncated)' : ''} in ${res.elapsed_ms} ms`),
        h('button', { class: 'btn', id: 'csv', onclick: () => download(res) }, 'Download CSV'),
        h('details', {}, h('summary', {}, 'SQL run'), h('pre', { class: 'sql' }, res.sql || ''))),
      chart,
      table(res.columns, res.rows, { limit: 1000 }));
    if (!resultChart(chart, res)) chart.remove();
  };
  const groups = new Map<string, any[]>();
  for (const s of samples) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  app.append(
    h('h1', {}, 'Query'),
    h('div', { class: 'querygrid' },
      h('div', {},
        h('div', { class: 'toolbar' }, h('span', { class: 'segs' }, modeBtns), run),
        editor,
        out),
      h('aside', { class: 'samples' }, h('h3', {}, 'Samples'),
        [...groups.entries()].map(([g, list]) => [h('h4', {}, g), h('ul', {}, list.map((s) => h('li', {},
          h('button', { type: 'button', class: 'linkbtn sample', onclick: () => { editor.value = s.query; setMode(s.mode); exec(); } }, s.title))))]))),
  );
  if (params.get('sql') || params.get('run')) await exec();
  void last;
}

function download(res: Result) {
  const blob = new Blob([toCSV(res.columns, res.rows)], { type: 'text/csv' });
  const a = h('a', { href: URL.createObjectURL(blob), download: 'flowhunt-query.csv' }) as HTMLAnchorElement;
  document.body.append(a);
  a.click();
  a.remove();
}

// resultChart draws a time series when the first column is a time, or bars
// of the first numeric column by the first column otherwise.
function resultChart(el: HTMLElement, res: Result): boolean {
  if (!res.rows.length || res.columns.length < 2) return false;
  const numCols = res.columns.map((_, i) => i).filter((i) => i > 0 && res.rows.every((r) => typeof r[i] === 'number' || r[i] === null));
  if (!numCols.length) return false;
  const first = res.rows[0][0];
  const asTime = (v: unknown) => (typeof v === 'number' && v > 1e9 && v < 1e10 ? v * 1000 : typeof v === 'string' && /^\d{4}-\d\d-\d\d/.test(v) ? Date.parse(v) : NaN);
  if (!Number.isNaN(asTime(first))) {
    const series: Series[] = numCols.slice(0, 3).map((i) => ({ name: res.columns[i], data: res.rows.map((r) => [asTime(r[0]), Number(r[i])] as [number, number]).sort((a, b) => a[0] - b[0]) }));
    timeChart(el, series);
    return true;
  }
  if (res.columns.length > 4) return false; // raw rows: a table says more than a chart
  const rows = res.rows.slice(0, 30);
  barChart(el, rows.map((r) => String(r[0])), rows.map((r) => Number(r[numCols[0]])), { horizontal: true, bytes: res.columns[numCols[0]].toLowerCase().includes('bytes') });
  return true;
}

// ---------------------------------------------------------------- audit

export async function audit(app: HTMLElement, features: Record<string, boolean>) {
  app.append(h('h1', {}, 'Audit: security groups and network ACLs'));
  if (!features.audit) {
    app.append(h('p', { class: 'muted', id: 'audit-off' }, 'No inventory is loaded, so there is nothing to audit. Start flowhunt serve with --inventory DIR (describe-security-groups, describe-network-interfaces, describe-network-acls output).'));
    return;
  }
  const res: any = await api.get(withRange('/audit'));
  renderAudit(app, res);
}

const auditTitles: Record<string, string> = {
  open_used: 'Over-broad rules (open to 0.0.0.0/0 or ::/0) that outside sources used, worst first',
  unused: 'Unused rules: no flow matched them in the window',
  rules: 'Security-group rules with hit counts',
  nacl: 'Network ACL entries with hit counts',
  rejects: 'REJECTs explained: the security group or NACL that refused them',
  unexplained: 'Accepted traffic the loaded rules cannot explain',
  violations: 'Segmentation policy violations',
};

// renderAudit shows the audit report: its counts as figures, then each list
// as a table, the lists people act on first.
function renderAudit(app: HTMLElement, res: any) {
  const entries: [string, any][] = Array.isArray(res) ? [['results', res]] : Object.entries(res || {});
  const order = Object.keys(auditTitles);
  const scalars = entries.filter(([, v]) => v === null || typeof v !== 'object');
  app.append(h('div', { class: 'stats' }, scalars.filter(([, v]) => v !== null && v !== '').map(([k, v]) =>
    stat(k.replace(/_/g, ' '), typeof v === 'number' ? fmtNum(v) : /^\d{4}-/.test(String(v)) ? fmtTime(v) : String(v)))));
  const lists = entries.filter(([, v]) => v !== null && typeof v === 'object')
    .sort((a, b) => (order.indexOf(a[0]) + 1 || 99) - (order.indexOf(b[0]) + 1 || 99));
  for (const [name, v] of lists) {
    const title = auditTitles[name] ?? name.replace(/_/g, ' ');
    if (Array.isArray(v) && v.length && typeof v[0] === 'object') {
      const cols = [...new Set(v.flatMap((o: any) => Object.keys(o)))];
      const rows = v.map((o: any) => cols.map((c) => (o[c] !== null && typeof o[c] === 'object' ? JSON.stringify(o[c]) : o[c] ?? null)));
      app.append(card(`${title} (${v.length})`, table(cols, rows, { limit: 500 })));
    } else if (Array.isArray(v)) {
      app.append(card(title, v.length ? h('p', {}, v.join(', ')) : h('p', { class: 'muted' }, 'None.')));
    } else {
      app.append(card(title, kv(v)));
    }
  }
}

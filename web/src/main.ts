// flowhunt console: a hash router over a few pages.
import './style.css';
import { api, setRange } from './api';
import { disposeCharts } from './charts';
import { errorBox, h } from './ui';
import * as pages from './pages';

const app = document.getElementById('app')!;
let features: Record<string, boolean> = {};

async function route() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  disposeCharts();
  app.replaceChildren();
  app.dataset.page = parts[0] || 'overview';
  app.dataset.ready = '';
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('on', (a as HTMLElement).dataset.nav === (parts[0] || 'overview')));
  try {
    switch (parts[0] || '') {
      case '':
        await pages.overview(app);
        break;
      case 'findings':
        await pages.findings(app, params);
        break;
      case 'finding':
        await pages.finding(app, parts[1]);
        break;
      case 'entity':
        await pages.entity(app, parts[1], parts.slice(2).join('/'));
        break;
      case 'query':
        await pages.query(app, params);
        break;
      case 'audit':
        await pages.audit(app, features);
        break;
      default:
        app.append(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Overview')));
    }
  } catch (e) {
    app.append(errorBox(e));
  }
  // Tests and people alike can tell the page finished loading.
  app.dataset.ready = 'true';
}

async function start() {
  const range = document.getElementById('range') as HTMLSelectElement;
  range.value = sessionStorage.getItem('range') ?? '';
  setRange(range.value);
  range.addEventListener('change', () => {
    sessionStorage.setItem('range', range.value);
    setRange(range.value);
    route();
  });
  document.getElementById('pivot')!.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = (document.getElementById('pivot-input') as HTMLInputElement).value.trim();
    if (!v) return;
    const kind = v.startsWith('eni-') ? 'eni' : v.startsWith('i-') ? 'instance' : 'ip';
    location.hash = `#/entity/${kind}/${encodeURIComponent(v)}`;
  });
  try {
    const st: any = await api.get('/status');
    features = st.features || {};
  } catch {
    features = {};
  }
  window.addEventListener('hashchange', route);
  await route();
}

start();

// nosco view: the page. Plain JavaScript, no library: every view is built
// from the JSON API (docs/view.md) with DOM calls (names are text, never
// markup), and every view has a URL (#/...) that reopens it.
'use strict';

const TOKEN = new URLSearchParams(location.search).get('token') || '';
const main = document.getElementById('main');
let generation = 0; // bumped by each navigation: answers for an older view are dropped

// --- helpers -------------------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

class ApiError extends Error {}

async function api(path, params) {
  const q = new URLSearchParams(params || {});
  q.set('token', TOKEN);
  const r = await fetch('api/' + path + '?' + q.toString());
  const body = await r.json().catch(() => ({ error: 'the answer is not JSON' }));
  if (!r.ok) throw new ApiError(body.error || r.statusText);
  return body;
}

function num(n) {
  return Number(n).toLocaleString('en-US');
}

function pct(part, whole) {
  return whole ? (100 * part / whole).toFixed(1) + ' %' : '';
}

function callLink(id, text) {
  return h('a', { href: '#/call/' + id }, text === undefined ? '#' + id : text);
}

function show(...kids) {
  // null stands for a part not shown (replaceChildren would write "null")
  main.replaceChildren(...kids.filter(k => k !== null && k !== undefined));
}

function failure(e) {
  return h('p', { class: 'error' }, e instanceof ApiError ? e.message : 'error: ' + e);
}

// A stable colour per name: flame graph and timeline agree.
function colour(name) {
  let x = 0;
  for (let i = 0; i < name.length; i++) x = (x * 31 + name.charCodeAt(i)) | 0;
  const hue = 20 + (Math.abs(x) % 50);
  const light = 55 + (Math.abs(x >> 8) % 20);
  return 'hsl(' + hue + ',80%,' + light + '%)';
}

// --- overview ------------------------------------------------------------

async function viewOverview(gen) {
  const [o, t] = await Promise.all([api('overview'), api('threads')]);
  if (gen !== generation) return;
  const m = o.meta;
  const exit = m.exit_kind === 'exited' ? 'exited with code ' + m.exit_code
    : m.exit_kind === 'signaled' ? 'killed by signal ' + m.exit_signal : m.exit_kind;
  const insns = t.threads.reduce((s, x) => s + x.insns, 0);
  // The calls are counted by a pass over the trace: filled in when it is done.
  const counts = h('dd', { id: 'counts' }, num(t.threads.length) + ' threads, ' +
    num(o.binaries.length) + ' binaries, ' + num(insns) + ' instructions, counting the calls…');
  api('counts').then((n) => {
    counts.textContent = num(n.threads) + ' threads, ' + num(n.binaries) + ' binaries, ' +
      num(n.calls) + ' calls, ' + num(insns) + ' instructions, ' + num(n.events) + ' events';
  }, (e) => { counts.textContent += ' (' + e.message + ')'; });
  const dl = h('dl', { class: 'facts' },
    h('dt', {}, 'program'), h('dd', {}, m.program || '?'),
    h('dt', {}, 'arguments'), h('dd', { class: 'mono' }, o.argv.join(' ')),
    h('dt', {}, 'exit'), h('dd', {}, exit || '?'),
    h('dt', {}, 'engine'), h('dd', {}, (m.engine || '?') + ', nosco ' + (m.nosco_version || '?')),
    h('dt', {}, 'counts'), counts,
    h('dt', {}, 'file'), h('dd', { class: 'mono' }, o.path));
  const threads = h('table', { class: 'grid', id: 'threads' },
    h('tr', {}, h('th', {}, 'thread'), h('th', {}, 'tid'), h('th', { class: 'n' }, 'instructions'),
      h('th', { class: 'n' }, 'calls'), h('th', { class: 'n' }, 'root calls'),
      h('th', {}, 'end'), h('th', {}, '')),
    t.threads.map(x => h('tr', {},
      h('td', {}, x.id), h('td', {}, x.tid), h('td', { class: 'n' }, num(x.insns)),
      h('td', { class: 'n' }, num(x.calls)), h('td', { class: 'n' }, num(x.roots)),
      h('td', {}, !x.exited ? 'running' : x.signaled ? 'signal ' + x.code : 'exit ' + x.code),
      h('td', {}, h('a', { href: '#/timeline/' + x.id }, 'timeline'), ' ',
        h('a', { href: '#/tree?thread=' + x.id }, 'calls')))));
  const bins = h('table', { class: 'grid' },
    h('tr', {}, h('th', {}, 'binary'), h('th', {}, 'mapped at')),
    o.binaries.map(b => h('tr', {}, h('td', { class: 'mono' }, b.path),
      h('td', { class: 'mono' }, b.start + '–' + b.end))));
  show(h('h1', {}, (m.program || 'trace').split('/').pop()), dl,
    o.damage ? h('p', { class: 'error' }, 'damaged: ' + o.damage) : null,
    o.warnings ? h('pre', { class: 'warn' }, o.warnings) : null,
    h('h2', {}, 'Threads'), threads,
    h('h2', {}, 'Binaries'), bins);
  document.title = 'nosco view: ' + (m.program || '').split('/').pop();
}

// --- call tree -----------------------------------------------------------

const PAGE = 200;

function treeNode(call) {
  const kids = h('ul', { class: 'kids' });
  const label = h('span', { class: 'counts' });
  const twisty = h('button', { class: 'twisty', 'aria-label': 'expand' }, '▸');
  const li = h('li', { 'data-id': call.id }, twisty, ' ', callLink(call.id, call.name), ' ',
    h('span', { class: 'muted' }, '#' + call.id), ' ', label, kids);
  const setCounts = (self) => {
    label.textContent = num(call.insns) + ' insns' + (self === undefined ? '' : ', self ' + num(self));
  };
  setCounts(call.self);
  let loaded = 0, open = false, total = Infinity;
  const more = async () => {
    const page = await api('calls', { parent: call.id, offset: loaded, limit: PAGE, self: 1 });
    total = page.total;
    kids.querySelector(':scope > .more')?.remove();
    for (const k of page.calls) kids.append(treeNode(k));
    loaded += page.calls.length;
    if (call.self === undefined) {
      const c = await api('call', { id: call.id });
      call.self = c.self;
      setCounts(c.self);
    }
    if (loaded < total) {
      kids.append(h('li', { class: 'more' }, h('button', { onclick: () => more() },
        'more callees (' + num(total - loaded) + ')')));
    }
    if (!total) twisty.textContent = '·';
  };
  twisty.addEventListener('click', async () => {
    open = !open;
    twisty.textContent = open ? '▾' : '▸';
    kids.hidden = !open;
    if (open && loaded === 0 && total === Infinity) {
      try { await more(); } catch (e) { kids.append(failure(e)); }
    }
  });
  if (call.callees === 0) twisty.textContent = '·';
  return li;
}

async function viewTree(gen, params) {
  const threads = (await api('threads')).threads;
  const only = params.get('thread');
  const out = [h('h1', {}, 'Call tree')];
  for (const t of threads) {
    if (only !== null && String(t.id) !== only) continue;
    const roots = await api('roots', { thread: t.id, limit: 1000 });
    if (gen !== generation) return;
    out.push(h('h2', {}, 'thread ' + t.tid + ' (' + num(roots.total) + ' root calls)'),
      h('ul', { class: 'tree' }, roots.calls.map(treeNode)));
    if (roots.total > roots.calls.length) {
      out.push(h('p', { class: 'muted' }, 'the first ' + num(roots.calls.length) + ' are shown'));
    }
  }
  show(...out);
  document.title = 'nosco view: call tree';
}

// --- a call's page ---------------------------------------------------------

const ROW = 18;         // pixels per assembly line
const SCROLL_MAX = 4e6; // a taller scroller is scaled: browsers cap element heights

function asmView(call) {
  const rows = call.insns;
  const spacerH = Math.min(rows * ROW, SCROLL_MAX);
  const box = h('div', { class: 'asm', id: 'asm', tabindex: 0 });
  const spacer = h('div', { class: 'spacer' });
  const lines = h('div', { class: 'lines' });
  spacer.style.height = spacerH + 'px';
  box.append(spacer, lines);
  const pages = new Map(); // page number -> answer, or a promise of it
  const PER = 200;
  const want = (p) => {
    if (!pages.has(p)) {
      // Scrolling through a call of a billion instructions keeps only the last pages.
      if (pages.size >= 64) pages.delete(pages.keys().next().value);
      pages.set(p, api('insns', { call: call.id, from: call.start + p * PER, limit: PER })
        .then(a => { pages.set(p, a); draw(); }, e => pages.set(p, { error: e })));
    }
    return pages.get(p);
  };
  const first = () => {
    const visible = Math.ceil(box.clientHeight / ROW);
    const room = spacerH - box.clientHeight;
    if (room <= 0) return 0;
    return Math.floor(box.scrollTop / room * Math.max(0, rows - visible));
  };
  function draw() {
    const top = first();
    const n = Math.ceil(box.clientHeight / ROW) + 1;
    const out = [];
    for (let i = top; i < Math.min(rows, top + n); i++) {
      const p = Math.floor(i / PER);
      const page = want(p);
      const ins = page && page.insns ? page.insns[i - p * PER] : null;
      if (page && page.error) { out.push(h('div', { class: 'row error' }, page.error.message)); break; }
      if (!ins) { out.push(h('div', { class: 'row muted' }, '…')); continue; }
      const inner = page.callees.find(k => ins.pos >= k.start && ins.pos < k.end);
      const row = h('div', { class: 'row' + (inner ? ' inner' : '') },
        h('span', { class: 'pos' }, num(ins.pos - call.start)),
        h('span', { class: 'addr' }, ins.addr),
        h('span', { class: 'sym' }, ins.sym),
        h('span', { class: 'ins' }, ins.asm),
        h('span', { class: 'line' }, ins.line || ''),
        inner && ins.pos === inner.start ? callLink(inner.id, '→ #' + inner.id) : null);
      out.push(row);
    }
    lines.replaceChildren(...out);
    lines.style.top = box.scrollTop + 'px';
  }
  box.addEventListener('scroll', () => requestAnimationFrame(draw));
  new ResizeObserver(() => draw()).observe(box);
  return box;
}

async function viewCall(gen, id) {
  const [c, kids] = await Promise.all([api('call', { id }), api('calls', { parent: id, limit: 100 })]);
  if (gen !== generation) return;
  const th = (await api('threads')).threads.find(t => t.id === c.thread);
  const table = h('table', { class: 'grid', id: 'callees' },
    h('tr', {}, h('th', {}, 'call'), h('th', {}, 'function'), h('th', { class: 'n' }, 'at'),
      h('th', { class: 'n' }, 'instructions'), h('th', { class: 'n' }, 'self'),
      h('th', { class: 'n' }, 'callees'), h('th', { class: 'n' }, 'share')));
  let shown = 0;
  // Their self counts come later: they read the callees' callees.
  const addRows = (page) => {
    const rows = page.calls.map((k) => {
      const self = h('td', { class: 'n' }, '…');
      const callees = h('td', { class: 'n' }, '…');
      table.append(h('tr', {}, h('td', {}, callLink(k.id)), h('td', {}, callLink(k.id, k.name)),
        h('td', { class: 'n' }, num(k.start - c.start)), h('td', { class: 'n' }, num(k.insns)),
        self, callees, h('td', { class: 'n' }, pct(k.insns, c.insns))));
      return { self, callees };
    });
    const from = shown;
    shown += page.calls.length;
    api('calls', { parent: id, offset: from, limit: page.calls.length || 1, self: 1 }).then((p) => {
      p.calls.forEach((k, i) => {
        if (!rows[i]) return;
        rows[i].self.textContent = num(k.self);
        rows[i].callees.textContent = num(k.callees);
      });
    }, () => {});
  };
  addRows(kids);
  const moreBtn = h('button', {}, 'more callees');
  const updateMore = () => {
    moreBtn.hidden = shown >= kids.total;
    moreBtn.textContent = 'more callees (' + num(kids.total - shown) + ' left)';
  };
  moreBtn.addEventListener('click', async () => {
    addRows(await api('calls', { parent: id, offset: shown, limit: 500 }));
    updateMore();
  });
  updateMore();
  const bt = h('ol', { class: 'bt' }, c.backtrace.map(f => h('li', {},
    f.call !== undefined ? callLink(f.call, f.name) : h('span', { class: 'mono' }, f.name),
    ' ', h('span', { class: 'muted mono' }, f.addr))));
  show(h('h1', {}, c.name, ' ', h('span', { class: 'muted' }, '#' + c.id)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'thread'), h('dd', {}, th ? th.tid : c.thread),
      h('dt', {}, 'called by'), h('dd', {}, c.parent === null ? 'nothing traced (a root call)' : callLink(c.parent)),
      h('dt', {}, 'instructions'), h('dd', {}, num(c.insns) + ' (self ' + num(c.self) + ', in ' +
        num(c.callees) + ' callees ' + num(c.insns - c.self) + ')'),
      h('dt', {}, 'positions'), h('dd', {}, num(c.start) + ' to ' + num(c.end)),
      h('dt', {}, 'kind'), h('dd', {}, c.kind + ', ended by ' + c.ended +
        (c.truncated ? ', truncated (past the depth limit)' : ''))),
    h('p', {}, h('a', { href: '#/flame/' + c.id }, 'flame graph'), ' · ',
      h('a', { href: '#/timeline/' + c.thread + '?from=' + c.start + '&to=' + Math.max(c.end, c.start + 1) },
        'timeline'), ' · ', h('a', { href: '#/tree?thread=' + c.thread }, 'call tree')),
    h('h2', {}, 'Backtrace'), bt,
    h('h2', {}, 'Callees (' + num(kids.total) + ')'), table, moreBtn,
    h('h2', {}, 'Instructions (' + num(c.insns) + ')'),
    c.insns ? asmView(c) : h('p', { class: 'muted' }, 'none recorded'));
  document.title = 'nosco view: ' + c.name + ' #' + c.id;
}

// --- search ----------------------------------------------------------------

async function viewSearch(gen, params) {
  const q = params.get('q') || '';
  document.getElementById('search-q').value = q;
  if (!q) { show(h('p', {}, 'Type a part of a function name above.')); return; }
  show(h('p', { class: 'muted' }, 'searching (the first search indexes every call)…'));
  const r = await api('search', { q, limit: 200 });
  if (gen !== generation) return;
  const table = h('table', { class: 'grid', id: 'results' },
    h('tr', {}, h('th', {}, 'function'), h('th', {}, 'address'), h('th', { class: 'n' }, 'calls'),
      h('th', { class: 'n' }, 'instructions'), h('th', {}, 'first calls')),
    r.functions.map(f => h('tr', {}, h('td', {}, f.first.length ? callLink(f.first[0], f.name) : f.name),
      h('td', { class: 'mono' }, f.addr), h('td', { class: 'n' }, num(f.calls)),
      h('td', { class: 'n' }, num(f.insns)),
      h('td', {}, f.first.map(id => [callLink(id), ' '])))));
  show(h('h1', {}, 'Functions matching “' + q + '”'),
    h('p', {}, num(r.matches) + ' functions' + (r.matches > r.functions.length ? ', the first ' + r.functions.length + ' shown' : '')),
    table);
  document.title = 'nosco view: search ' + q;
}

// --- flame graph -----------------------------------------------------------

async function viewFlame(gen, id, params) {
  const depth = params.get('depth') || 10;
  const f = await api('flame', { id, depth });
  if (gen !== generation) return;
  const box = h('div', { class: 'flame', id: 'flame' });
  let rows = 0;
  const place = (node, left, width, level) => {
    if (width < 0.05) return;
    rows = Math.max(rows, level + 1);
    const el = h('div', { class: 'frame', title: node.name + ': ' + num(node.total) + ' instructions in ' + num(node.calls) + ' calls' },
      node.name);
    el.style.left = left + '%';
    el.style.width = width + '%';
    el.style.top = level * 20 + 'px';
    el.style.background = colour(node.name);
    el.addEventListener('click', () => draw(node));
    box.append(el);
    let x = left;
    for (const k of node.kids) {
      const w = node.total ? width * k.total / node.total : 0;
      place(k, x, w, level + 1);
      x += w;
    }
  };
  const draw = (root) => {
    box.replaceChildren();
    rows = 0;
    place(root, 0, 100, 0);
    box.style.height = rows * 20 + 'px';
  };
  draw(f.root);
  show(h('h1', {}, 'Flame graph of ', callLink(id, f.root.name + ' #' + id)),
    h('p', { class: 'muted' }, 'callees ' + f.depth + ' levels deep, merged by name; click a frame to zoom, ',
      h('a', { href: '#/flame/' + id + '?depth=' + Math.min(24, f.depth + 4) }, 'deeper'),
      f.truncated ? ' (too many calls: the graph is partial)' : ''),
    h('button', { onclick: () => draw(f.root) }, 'reset zoom'), box);
  document.title = 'nosco view: flame graph #' + id;
}

// --- timeline --------------------------------------------------------------

const LANE = 16;

// A timeline of a thread's calls on its instruction clock, [from, to) at first; the URL follows it.
function timelineWidget(thread, from, to) {
  const canvas = h('canvas', { class: 'timeline', 'data-thread': thread.id });
  const tip = h('div', { class: 'tip', hidden: true });
  const info = h('div', { class: 'muted' });
  const wrap = h('div', { class: 'tlwrap' }, h('div', {}, 'thread ' + thread.tid + ' ', info), canvas, tip);
  let view = { from, to: Math.max(to, from + 1) };
  let data = null, pending = 0, timer = null;
  const px = () => canvas.clientWidth || 800;
  const fetchNow = async () => {
    const mine = ++pending;
    const v = { from: Math.floor(view.from), to: Math.ceil(view.to) };
    try {
      const d = await api('timeline', { thread: thread.id, from: v.from, to: v.to, px: px(), depth: 16 });
      if (mine !== pending) return;
      data = d;
      info.textContent = num(v.from) + ' – ' + num(v.to) + (d.truncated ? ' (partial)' : '');
      draw();
    } catch (e) {
      info.textContent = e.message;
    }
  };
  const refetch = () => {
    clearTimeout(timer);
    timer = setTimeout(fetchNow, 120);
    const hash = '#/timeline/' + thread.id + '?from=' + Math.floor(view.from) + '&to=' + Math.ceil(view.to);
    history.replaceState(null, '', hash);
  };
  function draw() {
    const w = px(), ratio = window.devicePixelRatio || 1;
    const lanes = data ? Math.max(1, ...data.slices.map(s => s[0] + 1)) : 1;
    const hgt = Math.max(LANE * 2, lanes * LANE);
    canvas.width = w * ratio;
    canvas.height = hgt * ratio;
    canvas.style.height = hgt + 'px';
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.fillStyle = '#fafafa';
    g.fillRect(0, 0, w, hgt);
    if (!data) return;
    const scale = w / (view.to - view.from);
    g.font = '11px sans-serif';
    g.textBaseline = 'middle';
    for (const s of data.slices) {
      const x0 = Math.max(0, (s[1] - view.from) * scale);
      const x1 = Math.min(w, (s[2] - view.from) * scale);
      if (x1 < 0 || x0 > w) continue;
      const y = s[0] * LANE;
      const name = s[3] >= 0 ? data.names[s[4]] : null;
      g.fillStyle = name ? colour(name) : '#bbb';
      g.fillRect(x0, y, Math.max(1, x1 - x0 - 0.5), LANE - 1);
      if (name && x1 - x0 > 30) {
        g.fillStyle = '#000';
        g.save();
        g.beginPath();
        g.rect(x0, y, x1 - x0, LANE);
        g.clip();
        g.fillText(name, x0 + 3, y + LANE / 2);
        g.restore();
      }
    }
  }
  const at = (ev) => {
    if (!data) return null;
    const r = canvas.getBoundingClientRect();
    const pos = view.from + (ev.clientX - r.left) / r.width * (view.to - view.from);
    const lane = Math.floor((ev.clientY - r.top) / LANE);
    return data.slices.find(s => s[0] === lane && s[1] <= pos && pos < Math.max(s[2], s[1] + 1)) || null;
  };
  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    const f = (ev.clientX - r.left) / r.width;
    const mid = view.from + f * (view.to - view.from);
    const k = ev.deltaY > 0 ? 1.25 : 0.8;
    const span = Math.max(10, (view.to - view.from) * k);
    view = { from: Math.max(0, mid - f * span), to: mid - f * span + span };
    draw();
    refetch();
  }, { passive: false });
  let drag = null;
  canvas.addEventListener('mousedown', (ev) => { drag = { x: ev.clientX, view, moved: false }; });
  canvas.addEventListener('mouseup', (ev) => {
    if (drag && !drag.moved) {
      const s = at(ev);
      if (s && s[3] >= 0) location.hash = '#/call/' + s[3];
    }
    drag = null;
  });
  canvas.addEventListener('mousemove', (ev) => {
    if (drag) {
      const dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 2) drag.moved = true;
      const shift = -dx / px() * (drag.view.to - drag.view.from);
      const from = Math.max(0, drag.view.from + shift);
      view = { from, to: from + drag.view.to - drag.view.from };
      draw();
      refetch();
      return;
    }
    const s = at(ev);
    tip.hidden = !s;
    if (s) {
      tip.textContent = s[3] >= 0 ? data.names[s[4]] + ' #' + s[3] + ': ' + num(s[2] - s[1]) + ' insns'
        : num(s[4]) + ' calls too small to show, ' + num(s[2] - s[1]) + ' insns';
      tip.style.left = (ev.offsetX + 12) + 'px';
      tip.style.top = (ev.offsetY + 12) + 'px';
    }
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; drag = null; });
  new ResizeObserver(() => { draw(); refetch(); }).observe(canvas);
  return wrap;
}

async function viewTimeline(gen, thread, params) {
  const t = (await api('threads')).threads.find(x => String(x.id) === thread);
  if (gen !== generation) return;
  if (!t) { show(failure(new ApiError('the trace has no thread ' + thread))); return; }
  const from = Number(params.get('from') || 0);
  const to = Number(params.get('to') || t.insns);
  show(h('h1', {}, 'Timeline of thread ' + t.tid),
    h('p', { class: 'muted' }, 'calls on the instruction clock: the wheel zooms, dragging pans, a click opens a call; grey: calls too small to show'),
    timelineWidget(t, from, to));
  document.title = 'nosco view: timeline ' + t.tid;
}

// --- routing ---------------------------------------------------------------

async function route() {
  const gen = ++generation;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  try {
    if (parts.length === 0) await viewOverview(gen);
    else if (parts[0] === 'tree') await viewTree(gen, params);
    else if (parts[0] === 'call' && /^\d+$/.test(parts[1] || '')) await viewCall(gen, parts[1]);
    else if (parts[0] === 'search') await viewSearch(gen, params);
    else if (parts[0] === 'flame' && /^\d+$/.test(parts[1] || '')) await viewFlame(gen, parts[1], params);
    else if (parts[0] === 'timeline' && /^\d+$/.test(parts[1] || '')) await viewTimeline(gen, parts[1], params);
    else show(h('p', { class: 'error' }, 'no such view: #' + hash));
  } catch (e) {
    if (gen === generation) show(failure(e));
  }
}

document.getElementById('jump').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = document.getElementById('jump-id').value.trim();
  if (/^\d+$/.test(id)) location.hash = '#/call/' + id;
});
document.getElementById('search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = document.getElementById('search-q').value.trim();
  location.hash = '#/search?q=' + encodeURIComponent(q);
});
window.addEventListener('hashchange', route);
route();

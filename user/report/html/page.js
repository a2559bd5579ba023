/* SPDX-License-Identifier: BSD-3-Clause */
/* page.js - the HTML report's script: reads the data element's JSON and
 * builds the page with createElement/textContent only, so no name from the
 * target is ever parsed as markup. Tables sort, filter and paginate in the
 * browser; charts are SVG. */
(function () {
'use strict';
/* Every string from the report goes into the page through textContent or
   setAttribute: nothing here parses data as HTML. */
var errBox = document.getElementById('js-error');
window.addEventListener('error', function (e) {
  errBox.hidden = false;
  errBox.textContent = 'Report script error: ' + e.message;
});
var D = JSON.parse(document.getElementById('data').textContent);
/* D has the JSON report's keys and objects (README.md, "JSON report"); lists
   are capped as {total, rows}; stacks are indices into D.frames. */
var S = D.summary, TG = D.target, FR = D.frames;
var SVGNS = 'http://www.w3.org/2000/svg';

function h(tag, props, kids) {
  var e = document.createElement(tag);
  for (var k in props || {}) {
    var v = props[k];
    if (v == null) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'cls') e.className = v;
    else if (k === 'on') for (var ev in v) e.addEventListener(ev, v[ev]);
    else e.setAttribute(k, v);
  }
  (kids || []).forEach(function (c) {
    if (c != null) e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  });
  return e;
}
function sv(tag, attrs, text) {
  var e = document.createElementNS(SVGNS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (text != null) e.textContent = text;
  return e;
}
function tip(node, text) { node.appendChild(sv('title', {}, text)); return node; }
function $(id) { return document.getElementById(id); }

function num(n) { return n == null ? '\u2013' : Number(n).toLocaleString('en-US'); }
function bytes(n) {
  if (n == null) return '\u2013';
  var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : String(n)) + ' ' + u[i];
}
function dur(ns) {
  if (ns == null) return '\u2013';
  if (ns < 1e3) return ns + ' ns';
  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + ' \u00b5s';
  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + ' ms';
  return (ns / 1e9).toFixed(ns < 1e10 ? 3 : 1) + ' s';
}
function base(p) { return p ? p.slice(p.lastIndexOf('/') + 1) : ''; }
function orDash(s) { return s == null || s === '' ? '\u2013' : s; }
function taskLabel(id, name) { return id ? (name ? name + ' (' + id + ')' : 'task ' + id) : '\u2013'; }

/* ---- stacks ---- */
function frameFn(f) { return (f.function || (f.module ? base(f.module) + '+' + f.offset : f.ip)) + (f.inlined ? ' [inlined]' : ''); }
function frameLoc(f) {
  var s = f.file ? f.file + (f.line ? ':' + f.line : '') : '';
  if (f.module) s += (s ? '  ' : '') + '[' + base(f.module) + '+' + f.offset + ']';
  return s;
}
function topFrame(st) { return st && st.length ? frameFn(FR[st[0]]) : '(no stack)'; }
function topLoc(st) {
  if (!st || !st.length) return '';
  var f = FR[st[0]];
  return f.file ? base(f.file) + (f.line ? ':' + f.line : '') : base(f.module);
}
/* why: the stack's truncated_reason (the walk stopped before the
 * outermost frame), or undefined */
function stackEl(st, why) {
  var ol = h('ol', { cls: 'stack' });
  (st || []).forEach(function (i) {
    var f = FR[i];
    ol.appendChild(h('li', null, [h('span', { cls: 'fn', text: frameFn(f) }), '  ',
      h('span', { cls: 'loc', text: frameLoc(f) })]));
  });
  if (!st || !st.length) ol.appendChild(h('li', { cls: 'muted', text: 'no stack captured (see --stack-depth)' }));
  if (why) ol.appendChild(h('li', { cls: 'muted', text: '\u2026 the walk stopped here: ' + why }));
  return ol;
}
function capNote(shown, total, what) {
  return total > shown ? h('p', { cls: 'muted', text: 'Showing the ' + num(shown) + ' largest of ' + num(total) + ' ' + what + '.' }) : null;
}

/* ---- a sortable, filterable, paginated table ----
   cols: {key, label, num, fmt(row) -> text|Node, val(row) -> sort value, cls}
   o: {id, sort, asc, pageSize, filter(row) -> text, detail(row) -> Node} */
function table(host, cols, rows, o) {
  o = o || {};
  var st = { key: o.sort || null, asc: !!o.asc, page: 0, q: '' }, size = o.pageSize || 25;
  var tbl = h('table', { id: o.id }), thead = h('thead'), tbody = h('tbody');
  var info = h('span', { cls: 'muted' });
  var prev = h('button', { text: '\u2039 prev', type: 'button' }), next = h('button', { text: 'next \u203a', type: 'button' });
  var tools = h('div', { cls: 'tools' });
  if (o.filter) {
    var inp = h('input', { type: 'search', placeholder: 'filter', 'aria-label': 'filter ' + (o.id || '') });
    inp.addEventListener('input', function () { st.q = inp.value.toLowerCase(); st.page = 0; render(); });
    tools.appendChild(inp);
  }
  tools.appendChild(prev); tools.appendChild(next); tools.appendChild(info);
  prev.addEventListener('click', function () { st.page--; render(); });
  next.addEventListener('click', function () { st.page++; render(); });
  tbl.appendChild(thead); tbl.appendChild(tbody);
  host.appendChild(tools); host.appendChild(tbl);
  function val(c, r) { return c.val ? c.val(r) : r[c.key]; }
  function head() {
    var tr = h('tr');
    cols.forEach(function (c) {
      var th = h('th', { text: c.label, cls: (c.num ? 'num ' : '') + (st.key === c.key ? 'sorted' + (st.asc ? ' asc' : '') : ''), scope: 'col' });
      th.addEventListener('click', function () {
        if (st.key === c.key) st.asc = !st.asc; else { st.key = c.key; st.asc = !c.num; }
        st.page = 0; head(); render();
      });
      tr.appendChild(th);
    });
    thead.textContent = '';
    thead.appendChild(tr);
  }
  function view() {
    var r = rows;
    if (st.q) r = r.filter(function (x) { return o.filter(x).toLowerCase().indexOf(st.q) >= 0; });
    if (st.key) {
      var c = cols.filter(function (k) { return k.key === st.key; })[0], dir = st.asc ? 1 : -1;
      r = r.map(function (x, i) { return [val(c, x), i, x]; }).sort(function (a, b) {
        var x = a[0], y = b[0];
        if (x == null && y != null) return 1;
        if (y == null && x != null) return -1;
        return x < y ? -dir : x > y ? dir : a[1] - b[1];
      }).map(function (a) { return a[2]; });
    }
    return r;
  }
  function render() {
    var r = view(), pages = Math.max(1, Math.ceil(r.length / size));
    st.page = Math.max(0, Math.min(st.page, pages - 1));
    var lo = st.page * size, hi = Math.min(r.length, lo + size);
    tbody.textContent = '';
    r.slice(lo, hi).forEach(function (x) {
      var tr = h('tr', { cls: 'row' + (o.detail ? ' expandable' : '') });
      cols.forEach(function (c) {
        var v = c.fmt ? c.fmt(x) : x[c.key];
        var td = h('td', { cls: (c.num ? 'num ' : '') + (c.cls || '') });
        if (v != null && typeof v === 'object') td.appendChild(v); else td.textContent = v == null ? '\u2013' : String(v);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
      if (o.detail) {
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = h('tr', { cls: 'detail' }, [h('td', { colspan: String(cols.length) }, [o.detail(x)])]);
          tr.after(open);
        });
      }
    });
    if (!r.length) tbody.appendChild(h('tr', null, [h('td', { colspan: String(cols.length), cls: 'muted', text: rows.length ? 'no match' : 'none' })]));
    info.textContent = r.length ? 'rows ' + num(lo + 1) + '\u2013' + num(hi) + ' of ' + num(r.length) +
      (r.length !== rows.length ? ' (filtered from ' + num(rows.length) + ')' : '') : '';
    prev.disabled = st.page === 0;
    next.disabled = st.page >= pages - 1;
  }
  head(); render();
  return tbl;
}

/* ---- axes ---- */
function ticks(max, n) {
  if (!(max > 0)) return [0];
  var raw = max / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
  [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return step >= raw; });
  var t = [];
  for (var v = 0; v <= max * 1.0001; v += step) t.push(v);
  return t;
}
function byteTicks(max) {
  if (!(max > 0)) return [0];
  var unit = 1;
  while (max / unit >= 1024 && unit < Math.pow(1024, 4)) unit *= 1024;
  return ticks(max / unit, 4).map(function (v) { return v * unit; });
}

/* ---- memory over time: step area chart with a hover cursor ---- */
function memoryChart(host) {
  var pts = D.memory_timeline;
  if (!pts.length) { host.appendChild(h('p', { cls: 'muted', text: 'No heap activity recorded.' })); return; }
  var W = 1000, H = 260, L = 78, R = 16, T = 14, B = 28;
  var t1 = Math.max(pts[pts.length - 1][0], S.duration_ns || 0, 1);
  var ymax = Math.max(S.peak_live_bytes || 0, 1);
  pts.forEach(function (p) { if (p[1] > ymax) ymax = p[1]; });
  var yt = byteTicks(ymax);
  ymax = Math.max(ymax, yt[yt.length - 1]);
  function x(t) { return L + t / t1 * (W - L - R); }
  function y(v) { return T + (1 - v / ymax) * (H - T - B); }
  var svg = sv('svg', { id: 'chart-memory', class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'live heap bytes over time' });
  yt.forEach(function (v) {
    svg.appendChild(sv('line', { class: 'axis', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    svg.appendChild(sv('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, bytes(v)));
  });
  ticks(t1, 6).forEach(function (t) {
    svg.appendChild(sv('text', { x: x(t), y: H - 8, 'text-anchor': 'middle' }, dur(t)));
  });
  var d = 'M' + x(0).toFixed(1) + ',' + y(0).toFixed(1), prev = 0, line = '';
  pts.forEach(function (p, i) {
    var X = x(p[0]).toFixed(1);
    d += 'L' + X + ',' + y(prev).toFixed(1) + 'L' + X + ',' + y(p[1]).toFixed(1);
    line += (i ? 'L' : 'M') + X + ',' + y(p[1]).toFixed(1);
    prev = p[1];
  });
  var xe = x(t1).toFixed(1);
  d += 'L' + xe + ',' + y(prev).toFixed(1) + 'L' + xe + ',' + y(0).toFixed(1) + 'Z';
  svg.appendChild(sv('path', { class: 'area', d: d }));
  svg.appendChild(sv('path', { class: 'line', d: line + 'L' + xe + ',' + y(prev).toFixed(1) }));
  if (S.peak_time_ns != null)
    svg.appendChild(tip(sv('circle', { class: 'peak', cx: x(S.peak_time_ns), cy: y(S.peak_live_bytes), r: 4 }),
      'peak ' + bytes(S.peak_live_bytes) + ' at ' + dur(S.peak_time_ns)));
  var cur = sv('line', { class: 'cursor', y1: T, y2: H - B, x1: -10, x2: -10 });
  var label = sv('text', { class: 'tip', x: 0, y: T + 10 });
  svg.appendChild(cur); svg.appendChild(label);
  var hit = sv('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'transparent' });
  svg.appendChild(hit);
  hit.addEventListener('mousemove', function (e) {
    var r = svg.getBoundingClientRect(), X = (e.clientX - r.left) * W / r.width;
    var t = (X - L) / (W - L - R) * t1, lo = 0, hi = pts.length - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (pts[mid][0] <= t) lo = mid; else hi = mid - 1; }
    var v = pts[lo][0] <= t ? pts[lo][1] : 0;
    cur.setAttribute('x1', X); cur.setAttribute('x2', X);
    label.setAttribute('x', Math.min(X + 6, W - 190));
    label.textContent = dur(Math.max(0, Math.round(t))) + ': ' + bytes(v);
  });
  hit.addEventListener('mouseleave', function () { cur.setAttribute('x1', -10); cur.setAttribute('x2', -10); label.textContent = ''; });
  host.appendChild(svg);
  host.appendChild(h('p', { cls: 'muted', text: 'Peak ' + bytes(S.peak_live_bytes) + (S.peak_time_ns != null ? ' at ' + dur(S.peak_time_ns) : '') +
    '; ' + num(pts.length) + ' points (each the maximum of its interval).' }));
}

/* ---- histogram: one bar per log2 bucket ---- */
function histogram(host, id, buckets, fmt, what) {
  if (!buckets.length) { host.appendChild(h('p', { cls: 'muted', text: 'No ' + what + ' recorded.' })); return; }
  var W = 520, H = 220, L = 50, R = 8, T = 16, B = 46, max = 1;
  buckets.forEach(function (b) { if (b.count > max) max = b.count; });
  var bw = (W - L - R) / buckets.length;
  var svg = sv('svg', { id: id, class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': what });
  ticks(max, 4).forEach(function (v) {
    var Y = T + (1 - v / max) * (H - T - B);
    svg.appendChild(sv('line', { class: 'axis', x1: L, x2: W - R, y1: Y, y2: Y }));
    svg.appendChild(sv('text', { x: L - 5, y: Y + 4, 'text-anchor': 'end' }, num(v)));
  });
  buckets.forEach(function (b, i) {
    var bh = Math.max(1.5, b.count / max * (H - T - B)), X = L + i * bw; /* a bucket of 1 stays visible */
    svg.appendChild(tip(sv('rect', { class: 'bar', x: X + 1, y: H - B - bh, width: Math.max(1, bw - 2), height: bh }),
      fmt(b.min) + ' \u2013 ' + fmt(b.max) + ': ' + num(b.count)));
    var tx = X + bw / 2;
    svg.appendChild(sv('text', { x: tx, y: H - B + 12, 'text-anchor': 'end', transform: 'rotate(-35 ' + tx + ' ' + (H - B + 12) + ')' }, '\u2265' + fmt(b.min)));
  });
  host.appendChild(svg);
}

/* ---- sections ---- */
function header() {
  var exe = TG.exe || '(unknown program)';
  document.title = 'memscope: ' + base(exe);
  $('title').textContent = 'memscope: ' + exe;
  var how = TG.exited ? (TG.signal != null ? 'killed by signal ' + TG.signal : 'exited with code ' + TG.exit_code) : 'still running when the trace stopped';
  $('meta').textContent = 'pid ' + TG.pid + ' \u00b7 mode ' + orDash(D.mode) + ' \u00b7 ' + dur(S.duration_ns) +
    ' \u00b7 stopped: ' + orDash(D.stop_reason) + ' \u00b7 target ' + how + ' \u00b7 ' + num(S.events) + ' events';
}

function cards() {
  var host = $('cards');
  function card(id, label, value, shown, sub, cls) {
    host.appendChild(h('div', { cls: 'card ' + (cls || ''), id: id, 'data-value': String(value), title: label + ': ' + num(value) }, [
      h('div', { cls: 'label', text: label }), h('div', { cls: 'value', text: shown }), h('div', { cls: 'sub', text: sub })]));
  }
  var leaks = TG.exited ? S.live_allocs : 0;
  card('card-allocs', 'allocations', S.allocs, num(S.allocs), bytes(S.alloc_bytes) + ' (' + num(S.alloc_bytes) + ' B) allocated');
  card('card-frees', 'frees', S.frees, num(S.frees), bytes(S.freed_bytes) + ' freed; ' + num(D.temporaries.count) + ' temporaries');
  card('card-live', 'live memory', S.live_bytes, bytes(S.live_bytes), num(S.live_bytes) + ' B in ' + num(S.live_allocs) + ' blocks');
  card('card-peak', 'peak memory', S.peak_live_bytes, bytes(S.peak_live_bytes),
    num(S.peak_live_bytes) + ' B' + (S.peak_time_ns != null ? ' at ' + dur(S.peak_time_ns) : ''));
  var K = D.leak_check;
  if (K.classified) {
    /* memcheck's classes: only the lost ones are leaks, only they are red */
    var lost = S.definitely_lost_blocks + S.indirectly_lost_blocks + S.possibly_lost_blocks;
    var lostB = S.definitely_lost_bytes + S.indirectly_lost_bytes + S.possibly_lost_bytes;
    card('card-leaks', TG.exited ? 'leaks' : 'lost now', lost, num(lost), bytes(lostB) + ' lost: ' + num(S.definitely_lost_blocks) + ' definitely, ' +
      num(S.indirectly_lost_blocks) + ' indirectly, ' + num(S.possibly_lost_blocks) + ' possibly; ' + num(S.still_reachable_blocks) + ' blocks (' +
      bytes(S.still_reachable_bytes) + ') still reachable', lost ? 'bad' : 'ok');
  } else if (TG.exited)
    card('card-leaks', 'leaks', leaks, num(leaks), bytes(S.live_bytes) + ' (' + num(S.live_bytes) + ' B) never freed' +
      (K.note ? ' (not classified: ' + K.note + ')' : ''), leaks ? 'bad' : 'ok');
  else
    card('card-leaks', 'leaks', 0, '\u2013', 'target still running: ' + num(S.live_allocs) + ' blocks live, not counted as leaks');
  card('card-variables', 'variables', S.variables, num(S.variables), 'tracked with TRACK_VAR');
  card('card-scopes', 'scopes', S.scopes, num(S.scopes), 'entered (' + num(D.scope_tree.total) + ' distinct paths)');
  card('card-tasks', 'tasks', S.tasks, num(S.tasks), 'seen');
  card('card-dropped', 'dropped events', S.dropped_events, num(S.dropped_events),
    S.dropped_events ? 'ring buffer was full: figures are incomplete' : 'none: the trace is complete', S.dropped_events ? 'warn' : 'ok');
  var bad = D.invalid_frees.total + D.double_frees.total;
  card('card-errors', 'bad frees', bad, num(bad), num(D.double_frees.total) + ' double, ' + num(D.invalid_frees.total) + ' invalid', bad ? 'bad' : 'ok');
}

/* the leak classes memcheck counts as lost: only they are red */
var LOST = { definitely_lost: 1, indirectly_lost: 1, possibly_lost: 1 };

/* a block's or site's leak class as a tag */
function reachTag(r) {
  var c = r.reachability;
  if (c == null) return null;
  return h('span', { cls: 'tag' + (LOST[c] ? ' bad' : c === 'unreadable' ? ' warn' : ''), text: c.replace('_', ' ') });
}

function leaksSection() {
  var isLeak = TG.exited, L = isLeak ? D.leak_sites : D.live_sites, BL = isLeak ? D.leaks : D.live;
  var K = D.leak_check, cls = K.classified ? [{ key: 'reachability', label: 'class', fmt: reachTag }] : [];
  $('leaks-title').textContent = isLeak ? 'Leaks' : 'Live blocks';
  $('leaks-note').textContent = (K.classified ? (isLeak ? 'Blocks still allocated when the target exited, ' : 'Blocks live when the trace stopped, ') +
      'classified as memcheck does (the target was held ' + dur(K.hold_ns) + ' at ' + K.when + ' while its memory was read; only lost blocks are red): ' :
      (isLeak ? 'Blocks still allocated when the target exited: ' : 'Blocks live when the trace stopped (the target was still running, so these are not leaks): ')) +
    num(S.live_allocs) + ' blocks, ' + bytes(S.live_bytes) + ', from ' + num(L.total) + ' groups by site' + (K.classified ? ' and class' : '') +
    '. Click a row for its stack.' + (K.note ? ' ' + (K.classified ? 'Note: ' : 'Not classified: ') + K.note : '');
  var host = $('leaks');
  table(host, [
    { key: 'bytes', label: 'bytes', num: true, fmt: function (r) { return bytes(r.bytes); } },
    { key: 'count', label: 'blocks', num: true, fmt: function (r) { return num(r.count); } },
  ].concat(cls).concat([
    { key: 'vars', label: 'variables', val: function (r) { return r.variables.join(', '); }, fmt: function (r) { return orDash(r.variables.join(', ')); } },
    { key: 'fn', label: 'allocated in', val: function (r) { return topFrame(r.stack); }, cls: 'code', fmt: function (r) { return topFrame(r.stack); } },
    { key: 'loc', label: 'at', val: function (r) { return topLoc(r.stack); }, cls: 'code', fmt: function (r) { return topLoc(r.stack); } },
    { key: 'kind', label: 'kind', val: function (r) { return r.example.kind; }, fmt: function (r) { return r.example.kind; } }
  ]), L.rows, {
    /* classified: the report's order, lost classes first */
    id: 'table-leaks', sort: K.classified ? null : 'bytes',
    filter: function (r) { return r.variables.join(' ') + ' ' + r.stack.map(function (i) { return frameFn(FR[i]) + ' ' + (FR[i].file || ''); }).join(' '); },
    detail: function (r) {
      var e = r.example;
      return h('div', null, [
        h('div', { cls: 'muted', text: 'e.g. ' + e.address + ', ' + num(e.size) + ' B, ' + e.kind + ', thread ' + e.thread +
          ', scope ' + orDash(e.scope_name) + ', task ' + taskLabel(e.task, e.task_name) + ', allocated at ' + dur(e.allocated_ns) }),
        stackEl(r.stack, r.truncated_reason)]);
    }
  });
  var note = capNote(L.rows.length, L.total, 'sites');
  if (note) host.appendChild(note);
  var bh = $('blocks');
  table(bh, [
    { key: 'size', label: 'size', num: true, fmt: function (r) { return num(r.size); } },
  ].concat(cls).concat([
    { key: 'address', label: 'address', cls: 'code' },
    { key: 'kind', label: 'kind' },
    { key: 'variable', label: 'variable', fmt: function (r) { return orDash(r.variable); } },
    { key: 'scope_name', label: 'scope', fmt: function (r) { return orDash(r.scope_name); } },
    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },
    { key: 'thread', label: 'thread', num: true },
    { key: 'allocated_ns', label: 'allocated at', num: true, fmt: function (r) { return dur(r.allocated_ns); } },
    { key: 'fn', label: 'allocated in', cls: 'code', val: function (r) { return topFrame(r.stack); }, fmt: function (r) { return topFrame(r.stack); } }
  ]), BL.rows, {
    id: 'table-blocks', sort: 'size',
    filter: function (r) { return [r.address, r.kind, r.variable, r.scope_name, r.task_name].join(' '); },
    detail: function (r) { return stackEl(r.stack, r.truncated_reason); }
  });
  note = capNote(BL.rows.length, BL.total, 'live blocks');
  if (note) bh.appendChild(note);
}

function sitesSection() {
  var host = $('sites');
  table(host, [
    { key: 'alloc_bytes', label: 'allocated', num: true, fmt: function (r) { return bytes(r.alloc_bytes); } },
    { key: 'allocs', label: 'allocs', num: true, fmt: function (r) { return num(r.allocs); } },
    { key: 'live_bytes', label: 'live', num: true, fmt: function (r) { return bytes(r.live_bytes); } },
    { key: 'live', label: 'live blocks', num: true, fmt: function (r) { return num(r.live); } },
    { key: 'temporaries', label: 'temporaries', num: true, fmt: function (r) { return num(r.temporaries); } },
    { key: 'fn', label: 'function', cls: 'code', val: function (r) { return topFrame(r.stack); }, fmt: function (r) { return topFrame(r.stack); } },
    { key: 'loc', label: 'at', cls: 'code', val: function (r) { return topLoc(r.stack); }, fmt: function (r) { return topLoc(r.stack); } }
  ], D.sites.rows, {
    id: 'table-sites', sort: 'alloc_bytes',
    filter: function (r) { return r.stack.map(function (i) { return frameFn(FR[i]) + ' ' + (FR[i].file || ''); }).join(' '); },
    detail: function (r) { return stackEl(r.stack, r.truncated_reason); }
  });
  var note = capNote(D.sites.rows.length, D.sites.total, 'sites');
  if (note) host.appendChild(note);
}

function varsSection() {
  var V = D.variables, host = $('vars');
  table(host, [
    { key: 'name', label: 'name', cls: 'code' },
    { key: 'type', label: 'type', cls: 'code', fmt: function (r) { return orDash(r.type); } },
    { key: 'size', label: 'size', num: true, fmt: function (r) { return num(r.size); } },
    { key: 'heap', label: 'heap block', num: true, val: function (r) { return r.heap ? r.heap.size : null; },
      fmt: function (r) { return r.heap ? bytes(r.heap.size) + (r.heap.freed_ns != null ? ' (freed at ' + dur(r.heap.freed_ns) + ')' : ' (live)') : '\u2013'; } },
    { key: 'scope_name', label: 'scope', fmt: function (r) { return orDash(r.scope_name); } },
    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },
    { key: 'thread', label: 'thread', num: true },
    { key: 'where', label: 'declared at', cls: 'code', val: function (r) { return (r.file || '') + ':' + r.line; },
      fmt: function (r) { return r.file ? base(r.file) + ':' + r.line : '\u2013'; } },
    { key: 'first_seen_ns', label: 'seen at', num: true, fmt: function (r) { return dur(r.first_seen_ns); } }
  ], V.rows, {
    id: 'table-vars', sort: 'heap',
    filter: function (r) { return [r.name, r.type, r.scope_name, r.file, r.task_name].join(' '); },
    detail: function (r) {
      return h('div', { cls: 'muted', text: 'address ' + r.address + ', declared at ' + orDash(r.file) + ':' + r.line +
        (r.heap ? ', points into block ' + r.heap.address : '') + (r.scope_exit_ns != null ? ', scope left at ' + dur(r.scope_exit_ns) : '') });
    }
  });
  var note = capNote(V.rows.length, V.total, 'variables');
  if (note) host.appendChild(note);
}

function scopesSection() {
  var T = D.scope_tree, rows = T.rows, host = $('scopes');
  if (!rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'No scopes recorded (MEMSCOPE_SCOPE).' })); return; }
  var kids = rows.map(function () { return []; }), roots = [], max = 1;
  rows.forEach(function (r, i) { if (r.parent >= 0) kids[r.parent].push(i); else roots.push(i); });
  function order(list) { return list.sort(function (a, b) { return rows[b].total_bytes - rows[a].total_bytes || a - b; }); }
  roots.forEach(function (i) { if (rows[i].total_bytes > max) max = rows[i].total_bytes; });
  function meter(v, live) {
    var m = h('div', { cls: 'meter' }), f = h('div', { cls: live ? 'live' : '' });
    f.style.width = (100 * v / max).toFixed(2) + '%';
    m.appendChild(f);
    return m;
  }
  function node(i, depth) {
    var r = rows[i], li = h('li'), ks = kids[i], ul = null;
    var tg = h('button', { cls: 'tg', type: 'button', text: ks.length ? '\u25b8' : '', 'aria-label': 'expand' });
    var row = h('div', { cls: 'node' }, [tg,
      h('span', { cls: 'nm code', title: (r.file || '?') + ':' + r.line, text: orDash(r.name) }),
      meter(r.total_bytes, false),
      h('span', { cls: 'num', title: num(r.alloc_bytes) + ' B in ' + num(r.allocs) + ' allocations', text: bytes(r.alloc_bytes) }),
      h('span', { cls: 'num', title: num(r.total_bytes) + ' B', text: bytes(r.total_bytes) }),
      h('span', { cls: 'num', title: num(r.total_live) + ' B live', text: bytes(r.total_live) }),
      h('span', { cls: 'num', text: '\u00d7' + num(r.count) + (r.open ? ' (' + num(r.open) + ' open)' : '') }),
      h('span', { cls: 'muted', text: (r.file ? base(r.file) + ':' + r.line : '') + ' \u00b7 avg ' + dur(Math.round(r.dur_ns / r.count)) + (r.variables ? ' \u00b7 ' + num(r.variables) + ' vars' : '') })]);
    li.appendChild(row);
    function toggle(show) {
      if (!ks.length) return;
      if (!ul) {
        ul = h('ul', { cls: 'tree' });
        var o = order(ks.slice());
        o.slice(0, 200).forEach(function (k) { ul.appendChild(node(k, depth + 1)); });
        if (o.length > 200) ul.appendChild(h('li', { cls: 'muted', text: '\u2026 ' + num(o.length - 200) + ' more' }));
        li.appendChild(ul);
      }
      ul.hidden = !show;
      tg.textContent = show ? '\u25be' : '\u25b8';
    }
    tg.addEventListener('click', function () { toggle(!ul || ul.hidden); });
    if (depth < 2) toggle(true);
    return li;
  }
  host.appendChild(h('div', { cls: 'node head' }, ['', 'scope', 'total (bar)', 'self', 'total', 'live', 'entered', 'where'].map(function (t, i) {
    return h('span', { cls: i >= 3 && i <= 6 ? 'num' : '', text: t });
  })));
  var top = h('ul', { id: 'scope-tree', cls: 'tree' });
  order(roots).slice(0, 500).forEach(function (i) { top.appendChild(node(i, 0)); });
  host.appendChild(top);
  var note = capNote(rows.length, T.total, 'scope paths');
  if (note) host.appendChild(note);
}

function tasksSection() {
  var T = D.tasks, rows = T.rows, host = $('tasks'), th = $('tasks-timeline');
  if (!rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'No tasks recorded (MEMSCOPE_TASK_*).' })); return; }
  /* timeline: one lane per task, by start time, a page of lanes at a time */
  var lanes = rows.filter(function (r) { return r.first_ns != null; }).sort(function (a, b) { return a.first_ns - b.first_ns || a.id - b.id; });
  var per = 40, page = 0, t1 = Math.max(S.duration_ns || 0, 1);
  lanes.forEach(function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; if (e > t1) t1 = e; });
  var box = h('div'), tools = h('div', { cls: 'tools' }), info = h('span', { cls: 'muted' });
  var prev = h('button', { type: 'button', text: '\u2039 earlier' }), next = h('button', { type: 'button', text: 'later \u203a' });
  tools.appendChild(prev); tools.appendChild(next); tools.appendChild(info);
  th.appendChild(tools); th.appendChild(box);
  function draw() {
    var part = lanes.slice(page * per, page * per + per), W = 1000, L = 200, R = 16, T0 = 6, lh = 18;
    var H = T0 + part.length * lh + 24;
    var svg = sv('svg', { id: 'chart-tasks', class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'task timeline' });
    function x(t) { return L + t / t1 * (W - L - R); }
    ticks(t1, 6).forEach(function (t) {
      svg.appendChild(sv('line', { class: 'axis', x1: x(t), x2: x(t), y1: T0, y2: H - 20 }));
      svg.appendChild(sv('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' }, dur(t)));
    });
    part.forEach(function (r, i) {
      var y0 = T0 + i * lh, end = r.ended_ns != null ? r.ended_ns : (r.last_ns != null ? r.last_ns : r.first_ns);
      var name = taskLabel(r.id, r.name);
      svg.appendChild(sv('text', { class: 'lane', x: L - 6, y: y0 + 13, 'text-anchor': 'end' }, name.length > 30 ? name.slice(0, 29) + '\u2026' : name));
      svg.appendChild(tip(sv('rect', { class: 'bar' + (r.live_bytes ? ' leak' : ''), x: x(r.first_ns), y: y0 + 3, height: lh - 6, width: Math.max(2, x(end) - x(r.first_ns)) }),
        name + ': ' + dur(r.first_ns) + ' \u2013 ' + dur(end) + (r.ended_ns == null ? ' (not ended)' : '') + ', ' + num(r.allocs) + ' allocs, ' +
        bytes(r.alloc_bytes) + ', peak ' + bytes(r.peak_live_bytes) + ', live ' + bytes(r.live_bytes)));
    });
    box.textContent = '';
    box.appendChild(svg);
    var pages = Math.max(1, Math.ceil(lanes.length / per));
    info.textContent = 'tasks ' + num(Math.min(lanes.length, page * per + 1)) + '\u2013' + num(Math.min(lanes.length, page * per + per)) + ' of ' + num(lanes.length) + ' by start time; red: still holding memory';
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
  }
  prev.addEventListener('click', function () { page--; draw(); });
  next.addEventListener('click', function () { page++; draw(); });
  draw();
  table(host, [
    { key: 'id', label: 'id', num: true },
    { key: 'name', label: 'name', fmt: function (r) { return orDash(r.name); } },
    { key: 'parent', label: 'parent', num: true, fmt: function (r) { return r.parent ? r.parent : '\u2013'; } },
    { key: 'threads', label: 'threads', val: function (r) { return r.threads.length; }, fmt: function (r) { return r.threads.join(', '); } },
    { key: 'first_ns', label: 'start', num: true, fmt: function (r) { return dur(r.first_ns); } },
    { key: 'length', label: 'duration', num: true, val: function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; return r.first_ns != null && e != null ? e - r.first_ns : null; },
      fmt: function (r) { var e = r.ended_ns != null ? r.ended_ns : r.last_ns; return r.first_ns != null && e != null ? dur(e - r.first_ns) + (r.ended_ns == null ? ' +' : '') : '\u2013'; } },
    { key: 'allocs', label: 'allocs', num: true, fmt: function (r) { return num(r.allocs); } },
    { key: 'alloc_bytes', label: 'allocated', num: true, fmt: function (r) { return bytes(r.alloc_bytes); } },
    { key: 'peak_live_bytes', label: 'peak', num: true, fmt: function (r) { return bytes(r.peak_live_bytes); } },
    { key: 'live_bytes', label: 'live', num: true, fmt: function (r) { return bytes(r.live_bytes); } },
    { key: 'variables', label: 'vars', num: true }
  ], rows, { id: 'table-tasks', sort: 'alloc_bytes', filter: function (r) { return (r.name || '') + ' ' + r.id; } });
  var note = capNote(rows.length, T.total, 'tasks');
  if (note) host.appendChild(note);
}

function errorsSection() {
  var host = $('errors'), I = D.invalid_frees, W = D.double_frees;
  function tag(dbl) { return function (r) { r.double = dbl; return r; }; }
  var rows = I.rows.map(tag(false)).concat(W.rows.map(tag(true)));
  if (!rows.length) { host.appendChild(h('p', { cls: 'muted', text: 'None.' })); return; }
  table(host, [
    { key: 'double', label: 'error', val: function (r) { return r.double ? 1 : 0; }, fmt: function (r) { return h('span', { cls: 'tag bad', text: r.double ? 'double free' : 'invalid free' }); } },
    { key: 'address', label: 'address', cls: 'code' },
    { key: 'kind', label: 'by' },
    { key: 'time_ns', label: 'at', num: true, fmt: function (r) { return dur(r.time_ns); } },
    { key: 'thread', label: 'thread', num: true },
    { key: 'scope_name', label: 'scope', fmt: function (r) { return orDash(r.scope_name); } },
    { key: 'task', label: 'task', fmt: function (r) { return taskLabel(r.task, r.task_name); } },
    { key: 'fn', label: 'freed in', cls: 'code', val: function (r) { return topFrame(r.stack); }, fmt: function (r) { return topFrame(r.stack); } }
  ], rows, {
    id: 'table-bad', sort: 'time_ns', asc: true,
    detail: function (r) {
      return h('div', null, [r.first_free_ns != null ? h('div', { cls: 'muted', text: 'first freed at ' + dur(r.first_free_ns) }) : null, stackEl(r.stack, r.truncated_reason)]);
    }
  });
  var note = capNote(rows.length, I.total + W.total, 'bad frees');
  if (note) host.appendChild(note);
}

header();
cards();
memoryChart($('memory'));
leaksSection();
sitesSection();
varsSection();
scopesSection();
tasksSection();
errorsSection();
histogram($('size-hist'), 'chart-size-hist', D.size_histogram, bytes, 'allocations');
histogram($('life-hist'), 'chart-life-hist', D.lifetime_histogram_ns, dur, 'frees');
document.body.setAttribute('data-ready', '1');
})();

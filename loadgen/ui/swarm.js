// The swarm page: polls /stats every second for the figures and tables, and /history for the
// charts, which loadgen keeps (a page opened late gets the whole series at once, then only the
// new points); sends the forms and buttons to the JSON API (POST /swarm, /stop, /reset); the
// split panel is split.js's. Values from the server reach the DOM only as text.
(function () {
  'use strict';
  var W = window.WebUI;
  var h = W.h;
  var state = {
    doc: null,
    formFilled: false,
    sort: { key: null, dir: 1 },
    series: emptySeries(),
    // The series the page holds (the server's epoch) and how many points the server keeps.
    epoch: null,
    capacity: 7200,
    tab: 'p-stats',
    editOpen: false
  };

  function emptySeries() {
    return { t: [], rps: [], fps: [], p50: [], p95: [], p99: [], users: [] };
  }

  function $(id) { return document.getElementById(id); }
  function show(node, on) { node.hidden = !on; }

  function setFigure(id, value, text) {
    var b = $(id);
    b.textContent = text;
    b.setAttribute('data-value', String(value));
  }

  var S = window.SplitPanel;
  var msg = S.msg;
  var send = S.send;

  // ---- the forms ----

  function fillStartForm(d) {
    var f = d.form;
    $('f-users').value = f.users === null || f.users === undefined ? '' : f.users;
    $('f-spawn-rate').value = f.spawn_rate === null || f.spawn_rate === undefined ? '' : f.spawn_rate;
    $('f-host').value = f.host || '';
    $('f-run-time').value = f.run_time || '';
    var sel = $('f-journey');
    W.clear(sel);
    d.journeys.forEach(function (j) {
      sel.appendChild(h('option', { value: j, selected: j === f.journey }, j));
    });
    var several = d.targets.length > 1;
    $('f-host').disabled = several;
    var note = $('targets-note');
    show(note, several);
    if (several) {
      note.textContent = 'Targets (from --target/--split): ' + d.targets.map(function (t) {
        return t[0] + ' ' + t[1] + ' (' + t[2] + '%)';
      }).join(', ');
    }
    state.formFilled = true;
  }

  function number(id) {
    var v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  }

  $('start-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var body = {
      users: number('f-users'),
      spawn_rate: number('f-spawn-rate'),
      run_time: $('f-run-time').value.trim(),
      journey: $('f-journey').value || undefined
    };
    if (!$('f-host').disabled) body.host = $('f-host').value.trim();
    msg('start-msg', 'starting…', true);
    send('/swarm', body).then(function () {
      msg('start-msg', '', true);
      state.formFilled = false;
      poll();
    }, function (err) { msg('start-msg', err.message, false); });
  });

  $('edit-form').addEventListener('submit', function (e) {
    e.preventDefault();
    send('/swarm', { users: number('e-users'), spawn_rate: number('e-spawn-rate') })
      .then(function (j) { msg('edit-msg', 'updated: ' + j.state, true); poll(); },
        function (err) { msg('edit-msg', err.message, false); });
  });

  $('edit-btn').addEventListener('click', function () {
    var d = state.doc;
    if (d) {
      $('e-users').value = d.target_users;
      $('e-spawn-rate').value = d.spawn_rate;
    }
    msg('edit-msg', '', true);
    state.editOpen = true;
    render();
  });
  $('edit-cancel').addEventListener('click', function () { state.editOpen = false; render(); });
  $('new-btn').addEventListener('click', function () {
    state.formFilled = false;
    state.showStart = true;
    render();
  });
  $('stop-btn').addEventListener('click', function () {
    send('/stop').then(poll, function (err) { problem(err.message); });
  });
  $('reset-btn').addEventListener('click', function () {
    send('/reset').then(poll,
      function (err) { problem(err.message); });
  });

  // ---- the live split (split.js, shared with the run page) ----

  S.init(function () { poll(); });

  // ---- tabs and sorting ----

  Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
    b.addEventListener('click', function () {
      state.tab = b.getAttribute('data-panel');
      render();
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll('#stats-table th[data-key]'), function (th) {
    th.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      state.sort = { key: key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      render();
    });
  });

  function sortValue(e, key) {
    var l = e.latency_ms;
    switch (key) {
      case 'target': return e.target;
      case 'name': return e.name;
      case 'requests': return e.requests;
      case 'failures': return e.failures;
      case 'median': return l.median;
      case 'p95': return l.p95;
      case 'p99': return l.p99;
      case 'mean': return l.mean;
      case 'rps': return e.rps;
      case 'fps': return e.failures_per_sec;
      default: return 0;
    }
  }

  // ---- rendering ----

  function ms(v) { return (Math.round(v * 10) / 10).toFixed(1); }
  function pct(n, of) { return of === 0 ? '0.00%' : (100 * n / of).toFixed(2) + '%'; }

  function row(e, total) {
    var l = e.latency_ms;
    return h('tr', { class: total ? 'total' : 'endpoint', 'data-name': e.name, 'data-target': e.target },
      h('td', { class: 'target-col' }, e.target),
      h('td', null, e.name),
      h('td', { class: 'num requests', 'data-value': e.requests }, String(e.requests)),
      h('td', { class: 'num failures', 'data-value': e.failures }, e.failures + ' (' + pct(e.failures, e.requests) + ')'),
      h('td', { class: 'num' }, ms(l.median)),
      h('td', { class: 'num' }, ms(l.p95)),
      h('td', { class: 'num' }, ms(l.p99)),
      h('td', { class: 'num' }, ms(l.mean)),
      h('td', { class: 'num' }, e.rps.toFixed(2)),
      h('td', { class: 'num' }, e.failures_per_sec.toFixed(2)));
  }

  function renderTable(d) {
    var rows = d.stats.slice();
    var s = state.sort;
    if (s.key) {
      rows.sort(function (a, b) {
        var x = sortValue(a, s.key), y = sortValue(b, s.key);
        return (x < y ? -1 : x > y ? 1 : 0) * s.dir;
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll('#stats-table th[data-key]'), function (th) {
      var k = th.getAttribute('data-key');
      if (k === s.key) th.setAttribute('aria-sort', s.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    $('stats-table').classList.toggle('single', d.targets.length <= 1);
    var body = $('stats-rows');
    W.clear(body);
    rows.forEach(function (e) { body.appendChild(row(e, false)); });
    var foot = $('stats-total');
    W.clear(foot);
    foot.appendChild(row(d.total, true));
  }

  function seenAt(ms) { return ms === null || ms === undefined ? '–' : W.fmtTime(ms, true); }

  function renderFailures(d) {
    var body = document.querySelector('#failures-table tbody');
    W.clear(body);
    var total = 0;
    d.errors.slice().sort(function (a, b) { return b.count - a.count; }).forEach(function (e) {
      total += e.count;
      body.appendChild(h('tr', null, h('td', { class: 'num' }, String(e.count)),
        h('td', null, e.target), h('td', null, e.name), h('td', null, e.kind)));
    });
    if (d.errors.length === 0) {
      body.appendChild(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No failures.')));
    }
    $('failure-count').textContent = total > 0 ? String(d.errors.length) : '';
    // Each kind with the recorder's own first and last time, the latest seen first.
    var recent = document.querySelector('#recent-errors tbody');
    W.clear(recent);
    d.errors.slice().sort(function (a, b) { return (b.last_seen_ms || 0) - (a.last_seen_ms || 0); })
      .forEach(function (e) {
        recent.appendChild(h('tr', { 'data-first': e.first_seen_ms, 'data-last': e.last_seen_ms },
          h('td', { class: 'last-seen' }, seenAt(e.last_seen_ms)),
          h('td', { class: 'first-seen' }, seenAt(e.first_seen_ms)),
          h('td', { class: 'num' }, String(e.count)), h('td', null, e.target),
          h('td', null, e.name), h('td', null, e.kind)));
      });
  }

  function renderCharts() {
    if (state.tab !== 'p-charts') return;
    var sr = state.series;
    W.lineChart($('chart-rps'), { t: sr.t, unit: '/s', series: [
      { name: 'RPS', values: sr.rps }, { name: 'Failures/s', values: sr.fps }] });
    W.lineChart($('chart-rt'), { t: sr.t, unit: 'ms', series: [
      { name: 'p50', values: sr.p50 }, { name: 'p95', values: sr.p95 },
      { name: 'p99', values: sr.p99 }] });
    W.lineChart($('chart-users'), { t: sr.t, series: [{ name: 'Users', values: sr.users }] });
  }

  // Adds the server's points to the page's series: all of them when the server says the page
  // holds another series (a new run, a reset, or a page just opened).
  function addHistory(hd) {
    if (hd.whole || hd.epoch !== state.epoch) state.series = emptySeries();
    state.epoch = hd.epoch;
    state.capacity = hd.capacity;
    var sr = state.series;
    var cols = [['t', 't'], ['rps', 'rps'], ['fps', 'fail_per_sec'], ['p50', 'p50_ms'],
      ['p95', 'p95_ms'], ['p99', 'p99_ms'], ['users', 'users']];
    cols.forEach(function (c) {
      Array.prototype.push.apply(sr[c[0]], hd[c[1]]);
      // The server's ring drops its oldest points; so does the page.
      var extra = sr[c[0]].length - state.capacity;
      if (extra > 0) sr[c[0]].splice(0, extra);
    });
    // What the charts hold, for a reader (and the page's tests): how many points, from when.
    var panel = $('p-charts');
    panel.setAttribute('data-points', String(sr.t.length));
    if (sr.t.length) panel.setAttribute('data-from', String(sr.t[0]));
  }

  function historyQuery() {
    var t = state.series.t;
    if (state.epoch === null || t.length === 0) {
      return state.epoch === null ? '' : '?epoch=' + state.epoch;
    }
    return '?epoch=' + state.epoch + '&after=' + t[t.length - 1];
  }

  function pollHistory() {
    return fetch('/history' + historyQuery(), { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (hd) { addHistory(hd); renderCharts(); });
  }

  function render() {
    var d = state.doc;
    if (!d) return;
    var st = d.state;
    var el = $('state');
    el.textContent = st.toUpperCase();
    el.setAttribute('data-state', st);
    setFigure('users', d.user_count, String(d.user_count));
    setFigure('rps', d.total_rps, d.total_rps.toFixed(1));
    setFigure('fail-ratio', d.fail_ratio, Math.round(d.fail_ratio * 100) + '%');
    $('host-shown').textContent = d.targets.length > 1
      ? d.targets.map(function (t) { return t[0]; }).join(', ')
      : (d.form.host || '–');
    var active = st === 'spawning' || st === 'running';
    show($('stop-btn'), active);
    show($('edit-btn'), active);
    show($('reset-btn'), active);
    show($('new-btn'), st === 'stopped');
    if (!active) state.editOpen = false;
    var wantStart = st === 'ready' || (st === 'stopped' && state.showStart);
    if (wantStart && !state.formFilled) fillStartForm(d);
    show($('start-panel'), wantStart);
    show($('edit-panel'), active && state.editOpen);
    Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
      var panel = b.getAttribute('data-panel');
      b.setAttribute('aria-selected', String(panel === state.tab));
      show($(panel), panel === state.tab);
    });
    S.render(d, d.state === 'stopped');
    renderTable(d);
    renderFailures(d);
    renderCharts();
  }

  function problem(text) {
    var p = $('problem');
    p.textContent = text || '';
    show(p, !!text);
  }

  function poll() {
    return fetch('/stats', { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.state !== 'stopped') state.showStart = false;
        state.doc = d;
        problem('');
        render();
        return d.state === 'ready' ? null : pollHistory();
      }).then(null, function () { problem('loadgen does not answer: has it stopped?'); });
  }

  poll();
  setInterval(poll, W.POLL_MS);
  window.addEventListener('resize', renderCharts);
})();

// The run page of `--web` on hey mode and `scenario run`: polls /stats every second, keeps the
// chart history itself (the server stores nothing for a page), and shows the split panel
// (split.js, shared with the swarm page). Values from the server reach the DOM only as text.
(function () {
  'use strict';
  var W = window.WebUI;
  var h = W.h;
  var S = window.SplitPanel;
  var MAX_POINTS = 7200;
  var series = { t: [], rps: [], fps: [], p50: [], p95: [], p99: [] };
  var last = null;

  function $(id) { return document.getElementById(id); }

  function setFigure(id, value, text) {
    var b = $(id);
    b.textContent = text;
    b.setAttribute('data-value', String(value));
  }

  function ms(v) { return v === null || v === undefined ? '–' : (Math.round(v * 10) / 10).toFixed(1); }
  function pct(n, of) { return of === 0 ? '0.00%' : (100 * n / of).toFixed(2) + '%'; }

  function row(r, total) {
    return h('tr', { class: total ? 'total' : 'target', 'data-target': r.target },
      h('td', null, r.target),
      h('td', { class: 'num requests', 'data-value': r.requests }, String(r.requests)),
      h('td', { class: 'num failures', 'data-value': r.failures }, r.failures + ' (' + pct(r.failures, r.requests) + ')'),
      h('td', { class: 'num' }, r.rps.toFixed(2)),
      h('td', { class: 'num' }, r.failures_per_sec.toFixed(2)),
      h('td', { class: 'num' }, ms(r.p50_ms)),
      h('td', { class: 'num' }, ms(r.p95_ms)),
      h('td', { class: 'num' }, ms(r.p99_ms)));
  }

  function addPoint(d) {
    if (series.t.length && series.t[series.t.length - 1] >= d.time_ms) return;
    // A finished run adds one last point, then the lines end.
    if (last && last.state === 'finished' && d.state === 'finished') return;
    series.t.push(d.time_ms);
    series.rps.push(d.total_rps);
    series.fps.push(d.total_fail_per_sec);
    series.p50.push(d.p50_ms);
    series.p95.push(d.p95_ms);
    series.p99.push(d.p99_ms);
    W.thin(series, MAX_POINTS);
  }

  function renderCharts() {
    W.lineChart($('chart-rps'), { t: series.t, unit: '/s', series: [
      { name: 'RPS', values: series.rps }, { name: 'Failures/s', values: series.fps }] });
    W.lineChart($('chart-rt'), { t: series.t, unit: 'ms', series: [
      { name: 'p50', values: series.p50 }, { name: 'p95', values: series.p95 },
      { name: 'p99', values: series.p99 }] });
  }

  function render(d) {
    $('title').textContent = 'loadgen ' + d.title;
    var el = $('state');
    el.textContent = d.state.toUpperCase();
    // swarm.css colours "running" and "stopped".
    el.setAttribute('data-state', d.state === 'finished' ? 'stopped' : d.state);
    setFigure('elapsed', d.elapsed_secs, d.elapsed_secs.toFixed(0) + ' s');
    setFigure('rps', d.total_rps, d.total_rps.toFixed(1));
    var t = d.total;
    setFigure('fail-ratio', t.requests ? t.failures / t.requests : 0, pct(t.failures, t.requests));
    $('step-shown').hidden = !d.step;
    if (d.step) {
      $('step').textContent = d.step.index + '/' + d.step.count + ' ' + d.step.name;
      $('phase').textContent = d.step.phase || '(unchanged)';
    }
    var body = $('stats-rows');
    W.clear(body);
    d.targets.forEach(function (r) { body.appendChild(row(r, false)); });
    var foot = $('stats-total');
    W.clear(foot);
    foot.appendChild(row(t, true));
    S.render(d, d.state === 'finished');
    renderCharts();
  }

  function problem(text) {
    var p = $('problem');
    p.textContent = text || '';
    p.hidden = !text;
  }

  function poll() {
    return fetch('/stats', { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (d) {
        addPoint(d);
        last = d;
        problem('');
        render(d);
      }, function () {
        problem(last && last.state === 'finished'
          ? 'The run has finished and loadgen has exited.'
          : 'loadgen does not answer: has it stopped?');
      });
  }

  S.init(function () { poll(); });
  poll();
  setInterval(poll, W.POLL_MS);
  window.addEventListener('resize', renderCharts);
})();

// The console page: polls /ui/data every second and draws the workshop's dashboards with the
// shared chart helper (WebUI); the phase panel reads GET /phase and writes POST /phase.
// Values from the server only ever reach the DOM as text (WebUI.h / textContent).
(function () {
  'use strict';
  var W = window.WebUI;
  var h = W.h;
  var state = {
    window: sessionStorage.getItem('console.window') || '5m',
    token: sessionStorage.getItem('console.token') || '',
    phase: null,        // the phase document's fields, as last read
    dirty: false,       // the form holds edits not yet applied
    rendered: '',       // the phase the form was last built from (JSON)
    built: false,
    presets: {},
    fields: []          // every field name, from /ui/fields
  };

  function $(id) { return document.getElementById(id); }
  function setText(node, text) { node.textContent = text; }

  // ---- data polling and the dashboards ----

  // Chat first: the workshop's SLOs and breaches are mostly about chat.
  function byImportance(endpoints) {
    return endpoints.slice().sort(function (a, b) { return (b.key === 'chat') - (a.key === 'chat'); });
  }

  function buildPanels(d) {
    var grid = $('panels');
    var panels = byImportance(d.endpoints).map(function (e) {
      return h('section', { class: 'panel endpoint', id: 'ep-' + e.key },
        h('h2', null, e.title),
        h('div', { class: 'stats' },
          stat('rate', 'rate'), stat('success', 'success'), stat('p50', 'p50'),
          stat('p99', 'p99'), stat('total', 'requests')),
        h('h3', null, 'Latency percentiles'), h('div', { class: 'chart-box c-latency' }),
        h('h3', null, 'Success share'), h('div', { class: 'chart-box c-success' }),
        h('h3', null, 'Requests per second'), h('div', { class: 'chart-box c-rate' }));
    });
    // Chat's engagement panel sits beside chat's own, so the first screen holds both.
    panels.splice(1, 0, h('section', { class: 'panel', id: 'chat-panel' },
      h('h2', null, 'Chat engagement, sentiment and safety'),
      h('h3', null, 'Engagement'), h('div', { class: 'chart-box c-engagement' }),
      h('h3', null, 'Sentiment'), h('div', { class: 'chart-box c-sentiment' }),
      h('h3', null, 'Safety issues (share of answered chats)'), h('div', { class: 'chart-box c-safety' })));
    panels.push(h('section', { class: 'panel', id: 'service-panel' },
      h('h2', null, 'Revision: GET / (http_requests_total)'),
      h('div', { class: 'stats' }, stat('root-total', 'requests'), stat('root-errors', '5xx')),
      h('h3', null, 'Requests per second'), h('div', { class: 'chart-box c-root-rate' }),
      h('h3', null, '5xx share'), h('div', { class: 'chart-box c-root-errors' })));
    panels.forEach(function (p) { grid.appendChild(p); });
    state.built = true;
  }

  function stat(cls, label) {
    return h('span', { class: 'stat' }, label + ' ', h('b', { class: cls }, '–'));
  }

  function setStat(root, cls, value, unit) {
    var b = root.querySelector('b.' + cls);
    b.textContent = W.fmtValue(value, unit);
    b.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
  }

  function last(values) {
    for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function render(d) {
    if (!state.built) buildPanels(d);
    // A server younger than the window is drawn from its first sample, not from an empty past.
    var from = d.from_ms, to = d.now_ms;
    var base = { t: d.t, from: from, to: to, markers: d.markers };
    function chart(node, opts) {
      W.lineChart(node, Object.assign({}, base, opts));
    }
    d.endpoints.forEach(function (e) {
      var p = $('ep-' + e.key);
      setStat(p, 'rate', last(e.rate), '/s');
      setStat(p, 'success', e.totals.success_share, 'ratio');
      setStat(p, 'p50', e.totals.p50_ms, 'ms');
      setStat(p, 'p99', e.totals.p99_ms, 'ms');
      setStat(p, 'total', e.totals.requests, '');
      chart(p.querySelector('.c-latency'), {
        unit: 'ms', height: 150,
        series: e.latency.map(function (q) { return { name: q[0], values: q[1] }; }),
        threshold: e.latency_slo_ms !== null ? { value: e.latency_slo_ms, label: 'SLO ' + W.fmtValue(e.latency_slo_ms, 'ms') } : null
      });
      chart(p.querySelector('.c-success'), {
        unit: 'ratio', height: 100, yMax: 1,
        series: [{ name: 'success', values: e.success }],
        threshold: e.success_slo !== null ? { value: e.success_slo, label: 'SLO ' + W.fmtValue(e.success_slo, 'ratio') } : null
      });
      chart(p.querySelector('.c-rate'), { unit: '/s', height: 100, series: [{ name: 'req/s', values: e.rate }] });
    });
    var c = $('chat-panel');
    chart(c.querySelector('.c-engagement'), {
      unit: 'ratio', height: 120, yMax: 1,
      series: [{ name: 'Engaged', values: d.chat.engaged },
        { name: 'Engaged|Acknowledged', values: d.chat.engaged_or_acknowledged }]
    });
    chart(c.querySelector('.c-sentiment'), {
      unit: 'ratio', height: 120, yMax: 1,
      series: d.chat.sentiment.map(function (x) { return { name: x[0], values: x[1] }; })
    });
    chart(c.querySelector('.c-safety'), { unit: 'ratio', height: 100, series: [{ name: 'safety issue', values: d.chat.safety }] });
    var s = $('service-panel');
    setStat(s, 'root-total', d.service.root_requests, '');
    setStat(s, 'root-errors', d.service.root_errors, '');
    chart(s.querySelector('.c-root-rate'), { unit: '/s', height: 100, series: [{ name: 'GET /', values: d.service.root_rate }] });
    chart(s.querySelector('.c-root-errors'), { unit: 'ratio', height: 100, yMax: 1, series: [{ name: '5xx', values: d.service.root_error_share }] });

    renderSlos(d.slos);
    setText($('service'), 'profile ' + d.service.profile +
      (d.service.revision ? ' · revision ' + d.service.revision : ''));
    var tl = d.timeline;
    setText($('timeline'), tl ? 'timeline step ' + (tl.index + 1) + '/' + tl.steps + ' “' + tl.step + '”' +
      (tl.left_s !== null ? ', ' + duration(tl.left_s) + ' left' : '') : 'no timeline');
    $('token-row').hidden = !d.writes_need_token;
    setText($('updated'), 'updated ' + W.fmtTime(d.now_ms, true));
    document.body.setAttribute('data-loaded', 'true');
  }

  function duration(s) {
    s = Math.max(0, Math.round(s));
    var m = Math.floor(s / 60);
    return m ? m + ' min ' + (s % 60) + ' s' : s + ' s';
  }

  function renderSlos(slos) {
    var body = $('slos').querySelector('tbody');
    W.clear(body);
    slos.forEach(function (x) {
      var cls = x.state === 'breached' ? 'bad' : x.state === 'good' ? 'good' : 'none';
      body.appendChild(h('tr', { id: 'slo-' + x.name, title: x.description },
        h('td', null, x.name),
        h('td', { class: 'num sli', 'data-value': x.sli === null ? '' : x.sli }, pct(x.sli)),
        h('td', { class: 'num' }, pct(x.objective)),
        h('td', { class: 'num' }, x.budget_consumed === null ? '–' : W.fmtValue(x.budget_consumed, 'ratio')),
        h('td', { class: 'num' }, x.burn_rate === null ? '–' : W.fmtValue(x.burn_rate, 'x')),
        h('td', null, h('span', { class: 'state badge ' + cls }, x.state))));
    });
  }

  function pct(v) {
    if (v === null || v === undefined) return '–';
    return (Math.round(v * 10000) / 100) + '%';
  }

  function poll() {
    fetch('/ui/data?window=' + encodeURIComponent(state.window), { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (d) { $('problem').hidden = true; render(d); })
      .catch(function (e) { showProblem('cannot read the server’s data: ' + e.message); })
      .then(function () { setTimeout(poll, W.POLL_MS); });
  }

  function showProblem(text) {
    var p = $('problem');
    p.hidden = false;
    setText(p, text);
  }

  function buildWindows() {
    var box = $('windows');
    ['5m', '15m', '60m'].forEach(function (w) {
      box.appendChild(h('button', {
        type: 'button', id: 'window-' + w, 'aria-pressed': String(w === state.window),
        onclick: function () {
          state.window = w;
          sessionStorage.setItem('console.window', w);
          box.querySelectorAll('button').forEach(function (b) {
            b.setAttribute('aria-pressed', String(b.id === 'window-' + w));
          });
        }
      }, w));
    });
  }

  // ---- the phase panel ----

  function write(method, body) {
    var headers = { 'Content-Type': 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    return fetch('/phase', { method: method, headers: headers, body: body })
      .then(function (r) {
        return r.text().then(function (t) {
          var doc = null;
          try { doc = JSON.parse(t); } catch (e) { doc = { error: t }; }
          return { status: r.status, doc: doc };
        });
      });
  }

  function message(node, text, good) {
    node.className = 'msg ' + (good ? 'good' : 'bad');
    setText(node, text);
  }

  function refusal(res) {
    if (res.status === 401) {
      return 'refused: this server needs the admin token (enter it above, then try again)';
    }
    return 'refused (' + res.status + '): ' + (res.doc && res.doc.error ? res.doc.error : 'no reason given');
  }

  function applyPreset(name) {
    write('POST', JSON.stringify(state.presets[name])).then(function (res) {
      if (res.status === 200) {
        message($('phase-msg'), 'preset ' + name + ' applied', true);
        loadPhase(res.doc, true);
      } else {
        message($('phase-msg'), 'preset ' + name + ' ' + refusal(res), false);
      }
    }).catch(function (e) { message($('phase-msg'), 'cannot reach the server: ' + e.message, false); });
  }

  function loadPresets() {
    fetch('/ui/presets').then(function (r) { return r.json(); }).then(function (p) {
      state.presets = p;
      var box = $('presets');
      Object.keys(p).forEach(function (name) {
        box.appendChild(h('button', { type: 'button', id: 'preset-' + name, onclick: function () { applyPreset(name); } }, name));
      });
    });
  }

  function group(key) {
    if (/Fault/i.test(key)) return 'Faults';
    if (/Distribution$/.test(key)) return 'Latency shapes';
    if (/MS$/i.test(key)) return 'Latency ranges (ms)';
    if (/^ChatS(Positive|Negative|Neutral|Unclassified)$|^Chat(Engaged|Acknowledged|Rejected|Unclassified)$/.test(key)) {
      return 'Chat outcome and sentiment weights';
    }
    return 'Success and safety ratios';
  }

  // Builds (or refills) the form from a phase document; edits in progress are kept unless
  // `force` (after this page's own successful write).
  function loadPhase(doc, force) {
    var fields = doc && doc.CurrentProbMetrics;
    if (!fields) return;
    state.phase = fields;
    renderSummary(fields);
    // Rebuild only when the phase moved, and never under the user's hands: a rebuilt input
    // would lose its focus and whatever was being typed.
    var key = JSON.stringify(fields);
    if (!force && (key === state.rendered || state.dirty ||
        $('phase-fields').contains(document.activeElement))) return;
    state.rendered = key;
    state.dirty = false;
    var box = $('phase-fields');
    W.clear(box);
    var groups = {};
    // The document's fields, then those it leaves out at their defaults (shapes, faults).
    var names = Object.keys(fields).concat(state.fields.filter(function (k) { return !(k in fields); }));
    names.forEach(function (k) { (groups[group(k)] = groups[group(k)] || []).push(k); });
    ['Success and safety ratios', 'Latency ranges (ms)', 'Latency shapes', 'Chat outcome and sentiment weights', 'Faults']
      .forEach(function (g) {
        if (!groups[g]) return;
        box.appendChild(h('h3', null, g));
        groups[g].forEach(function (k) {
          box.appendChild(h('div', { class: 'field' },
            h('label', { for: 'f-' + k }, k),
            h('input', {
              id: 'f-' + k, name: k, value: k in fields ? String(fields[k]) : '',
              placeholder: k in fields ? null : placeholder(k),
              oninput: function () { state.dirty = true; }
            }),
            h('span', { class: 'error', id: 'err-' + k, role: 'alert' })));
        });
      });
  }

  function placeholder(key) {
    if (/FaultRatio$/.test(key)) return '0';
    if (/Fault$/.test(key)) return 'none';
    if (/Distribution$/.test(key)) return 'uniform';
    return '';
  }

  function renderSummary(f) {
    var box = $('phase-summary');
    W.clear(box);
    var parts = [['chat', 'ChatSuccess', 'ChatLatencyMinMS', 'ChatLatencyMaxMS'],
      ['login', 'LoginSuccess', 'LoginLatencyMinMS', 'LoginLatencyMaxMS'],
      ['startup', 'StartupSuccess', 'StartupLatencyMinMS', 'StartupLatencyMaxMS']];
    parts.forEach(function (p) {
      if (!(p[1] in f)) return;
      box.appendChild(h('div', null, p[0] + ': success ', h('b', null, pct(f[p[1]])),
        ', latency ', h('b', null, f[p[2]] + '–' + f[p[3]] + ' ms')));
    });
  }

  function clearErrors() {
    document.querySelectorAll('.field .error').forEach(function (e) { setText(e, ''); });
    document.querySelectorAll('.field input').forEach(function (i) { i.removeAttribute('aria-invalid'); });
  }

  function submitForm(ev) {
    ev.preventDefault();
    clearErrors();
    var changes = {};
    document.querySelectorAll('#phase-fields input').forEach(function (input) {
      var k = input.name;
      var was = state.phase ? state.phase[k] : undefined;
      var raw = input.value.trim();
      if (raw === (was === undefined ? '' : String(was))) return;
      // Numbers go as numbers when they parse; anything else goes as typed, so the server's
      // message (not the page's guess) says what is wrong.
      var numeric = typeof was === 'number' || /FaultRatio$/.test(k);
      changes[k] = numeric && raw !== '' && isFinite(Number(raw)) ? Number(raw) : raw;
    });
    if (!Object.keys(changes).length) {
      message($('form-msg'), 'nothing changed', true);
      return;
    }
    write('POST', JSON.stringify(changes)).then(function (res) {
      if (res.status === 200) {
        message($('form-msg'), 'applied: ' + Object.keys(changes).join(', '), true);
        loadPhase(res.doc, true);
        return;
      }
      var field = res.doc && res.doc.field;
      var err = field && $('err-' + field);
      if (err) {
        setText(err, res.doc.error);
        $('f-' + field).setAttribute('aria-invalid', 'true');
        message($('form-msg'), 'refused: see the field ' + field + '; the phase is unchanged', false);
      } else {
        message($('form-msg'), refusal(res) + '; the phase is unchanged', false);
      }
    }).catch(function (e) { message($('form-msg'), 'cannot reach the server: ' + e.message, false); });
  }

  function loadFields() {
    return fetch('/ui/fields').then(function (r) { return r.json(); })
      .then(function (d) { state.fields = d.fields || []; })
      .catch(function () { /* the form then shows the document's fields only */ });
  }

  function pollPhase() {
    fetch('/phase', { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (doc) { loadPhase(doc, false); })
      .catch(function () { /* the data poll reports an unreachable server */ })
      .then(function () { setTimeout(pollPhase, 2000); });
  }

  function init() {
    buildWindows();
    loadPresets();
    $('phase-form').addEventListener('submit', submitForm);
    $('phase-revert').addEventListener('click', function () {
      state.dirty = false;
      clearErrors();
      loadPhase({ CurrentProbMetrics: state.phase }, true);
    });
    $('phase-reset').addEventListener('click', function () {
      write('DELETE', null).then(function (res) {
        if (res.status === 200) {
          message($('phase-msg'), 'back to the start-up phase', true);
          loadPhase(res.doc, true);
        } else {
          message($('phase-msg'), refusal(res), false);
        }
      });
    });
    $('token').value = state.token;
    setText($('token-state'), state.token ? 'token set for this tab' : 'writes need the token');
    $('token-save').addEventListener('click', function () {
      state.token = $('token').value.trim();
      sessionStorage.setItem('console.token', state.token);
      setText($('token-state'), state.token ? 'token set for this tab' : 'writes need the token');
    });
    poll();
    loadFields().then(pollPhase);
  }

  document.addEventListener('DOMContentLoaded', init);
})();

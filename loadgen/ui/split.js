// The live split panel, shared by the swarm page and the run page: it builds its form into
// <section id="split-panel">, shows the weights in force and the changes so far from a polled
// document's `split`, and POSTs /split. Also the pages' JSON `send` and status `msg`. Values
// from the server reach the DOM only as text.
(function () {
  'use strict';
  var W = window.WebUI;
  var h = W.h;

  function $(id) { return document.getElementById(id); }

  function send(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? '' : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
        return j;
      });
    });
  }

  function msg(id, text, good) {
    var m = $(id);
    m.textContent = text;
    m.className = 'msg ' + (good ? 'good' : 'bad');
  }

  function weightsText(m, unit) {
    var u = unit === undefined ? '%' : unit;
    return Object.keys(m).map(function (k) { return k + ' ' + m[k] + u; }).join(', ');
  }

  // The panel's markup, once; `onChange` runs after a change is accepted (to poll at once).
  function init(onChange) {
    var panel = $('split-panel');
    W.clear(panel);
    panel.appendChild(h('h2', null, 'Traffic split ', h('span', { class: 'muted' },
      'percent per target; names left empty share what is left, as Cloud Run\'s update-traffic')));
    var form = h('form', { id: 'split-form', novalidate: true },
      h('div', { class: 'fields', id: 'split-fields' }),
      h('div', { class: 'row' },
        h('button', { id: 'split-apply', class: 'primary', type: 'submit' }, 'Move traffic'),
        h('span', { id: 'split-msg', class: 'msg', role: 'status' })));
    panel.appendChild(form);
    panel.appendChild(h('table', { id: 'split-events' },
      h('thead', null, h('tr', null, h('th', { class: 'num' }, 'at (s)'), h('th', null, 'before'),
        h('th', null, 'after'), h('th', null, 'requests before'))),
      h('tbody')));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = {};
      Array.prototype.forEach.call(document.querySelectorAll('#split-fields input'), function (input) {
        var v = input.value.trim();
        if (v !== '') body[input.getAttribute('data-name')] = Number(v);
      });
      send('/split', body).then(function (j) {
        msg('split-msg', 'now ' + weightsText(j.weights), true);
        Array.prototype.forEach.call(document.querySelectorAll('#split-fields input'), function (i) { i.value = ''; });
        if (onChange) onChange();
      }, function (err) { msg('split-msg', err.message, false); });
    });
  }

  // `d.split` ({weights, events} or null) into the panel; `ended` disables the form.
  function render(d, ended) {
    var panel = $('split-panel');
    panel.hidden = !d.split;
    if (!d.split) return;
    var fields = $('split-fields');
    // Built once per set of targets, so typing is not undone by the next poll.
    var key = d.split.weights.map(function (w) { return w[0]; }).join('\n');
    if (fields.getAttribute('data-key') !== key) {
      W.clear(fields);
      d.split.weights.forEach(function (w, i) {
        fields.appendChild(h('label', { for: 'split-w-' + i }, w[0] + ' (now ' + w[1] + '%)'));
        fields.appendChild(h('input', { id: 'split-w-' + i, type: 'number', min: 0, max: 100,
          step: 1, 'data-name': w[0], placeholder: String(w[1]) }));
      });
      fields.setAttribute('data-key', key);
    }
    d.split.weights.forEach(function (w, i) {
      var label = fields.querySelector('label[for="split-w-' + i + '"]');
      if (label) label.textContent = w[0] + ' (now ' + w[1] + '%)';
      var input = $('split-w-' + i);
      if (input) input.setAttribute('placeholder', String(w[1]));
    });
    var body = document.querySelector('#split-events tbody');
    W.clear(body);
    d.split.events.forEach(function (e) {
      body.appendChild(h('tr', null, h('td', { class: 'num' }, e.at_secs.toFixed(1)),
        h('td', null, weightsText(e.weights_before)), h('td', null, weightsText(e.weights_after)),
        h('td', null, weightsText(e.requests_before, ''))));
    });
    $('split-apply').disabled = !!ended;
  }

  window.SplitPanel = { init: init, render: render, send: send, msg: msg };
})();

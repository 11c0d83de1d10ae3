// The workspace's one chart helper: time-series line charts drawn as SVG, plus a small DOM
// builder. A classic script (no modules, no build step) that defines `window.WebUI`, so it works
// both served as a file and inlined into a self-contained HTML report.
//
// Every text that comes from data goes in through textContent or an attribute value, never
// through innerHTML, so a label cannot inject markup.
(function (global) {
  'use strict';

  var SVG = 'http://www.w3.org/2000/svg';
  // Colour-blind-safe palette (Okabe-Ito), in the order series are drawn.
  var PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#000000'];

  // h('div', {class: 'x', onclick: f}, 'text', child): an element with attributes and children.
  function h(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function s(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === 'on' && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    });
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
    else if (typeof child === 'object') node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // A readable number: 3 significant digits at most, no exponent for everyday values.
  function num(v) {
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 100) return String(Math.round(v));
    if (a >= 10) return String(Math.round(v * 10) / 10);
    if (a >= 1) return String(Math.round(v * 100) / 100);
    return String(Number(v.toPrecision(2)));
  }

  // A value with its unit: 'ms' switches to seconds past 1000, 'ratio' is shown as a percentage.
  function fmtValue(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    switch (unit) {
      case 'ms': return a1000(v) ? num(v / 1000) + ' s' : num(v) + ' ms';
      case 'ratio': return num(v * 100) + '%';
      case '/s': return num(v) + '/s';
      case 'x': return num(v) + '×';
      default: return num(v) + (unit ? ' ' + unit : '');
    }
  }
  function a1000(v) { return Math.abs(v) >= 1000; }

  function pad(n) { return n < 10 ? '0' + n : String(n); }
  // Time since the start of a run, for a report's charts: m:ss, or h:mm:ss past an hour.
  function fmtElapsed(ms) {
    var s = Math.round(ms / 1000), hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60;
    return (hh ? hh + ':' + pad(mm) : String(mm)) + ':' + pad(s % 60);
  }
  function fmtTime(ms, seconds) {
    var d = new Date(ms);
    var t = pad(d.getHours()) + ':' + pad(d.getMinutes());
    return seconds ? t + ':' + pad(d.getSeconds()) : t;
  }

  // Tick positions at 1, 2 or 5 times a power of ten, about `count` of them over [lo, hi].
  function ticks(lo, hi, count) {
    var span = hi - lo;
    if (!(span > 0)) return [lo];
    var raw = span / Math.max(1, count);
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * p; })
      .find(function (x) { return x >= raw; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.round(v / step) * step);
    }
    return out;
  }

  var TIME_STEPS = [1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3];
  function timeTicks(t0, t1, count) {
    var raw = (t1 - t0) / Math.max(1, count);
    var step = TIME_STEPS.find(function (x) { return x >= raw; }) || 3600e3;
    var out = [];
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
    return { ticks: out, seconds: step < 60e3 };
  }

  // lineChart(container, {
  //   t: [ms, ...],                        sample times (x)
  //   series: [{name, values: [..]}],      one line each; null leaves a gap
  //   unit: 'ms' | 'ratio' | '/s' | ...,   for axis labels and the legend
  //   from, to: ms,                        x range (default: first and last t)
  //   markers: [ms | {t: ms, label}, ...], vertical lines (e.g. phase changes, split events)
  //   elapsed: true,                       t is ms since the run's start: label m:ss
  //   threshold: {value, label},           a horizontal objective line
  //   yMin, yMax: fixed bounds (optional), height: px (default 170)
  // })
  // Replaces the container's content with a legend (latest values) and the SVG chart.
  function lineChart(container, o) {
    clear(container);
    var t = o.t || [];
    var series = o.series || [];
    var unit = o.unit || '';
    var W = Math.max(280, container.clientWidth || 360);
    var H = o.height || 170;
    var m = { l: 58, r: 12, t: 8, b: 22 };
    var from = o.from !== undefined ? o.from : t[0];
    var to = o.to !== undefined ? o.to : t[t.length - 1];

    var legend = h('div', { class: 'legend' });
    series.forEach(function (sr, i) {
      var last = lastValue(sr.values);
      legend.appendChild(h('span', { class: 'item' },
        h('span', { class: 'swatch', 'data-i': i % PALETTE.length }),
        sr.name + ' ', h('b', null, fmtValue(last, unit))));
    });
    container.appendChild(legend);

    var lo = Infinity, hi = -Infinity;
    series.forEach(function (sr) {
      sr.values.forEach(function (v) {
        if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      });
    });
    if (o.threshold) { lo = Math.min(lo, o.threshold.value); hi = Math.max(hi, o.threshold.value); }
    if (lo === Infinity) { lo = 0; hi = 1; }
    lo = o.yMin !== undefined ? Math.min(o.yMin, lo) : Math.min(0, lo);
    hi = o.yMax !== undefined ? Math.max(o.yMax, hi) : hi;
    if (hi <= lo) hi = lo + (unit === 'ratio' ? 0.01 : 1);
    var yt = ticks(lo, hi + (hi - lo) * 0.05, 4);
    lo = Math.min(lo, yt[0]);
    hi = Math.max(hi, yt[yt.length - 1]);

    var svg = s('svg', {
      class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
      role: 'img', 'aria-label': o.title || series.map(function (x) { return x.name; }).join(', ')
    });
    var x = function (ms) { return m.l + (W - m.l - m.r) * (to > from ? (ms - from) / (to - from) : 1); };
    var y = function (v) { return H - m.b - (H - m.t - m.b) * (v - lo) / (hi - lo); };

    yt.forEach(function (v) {
      svg.appendChild(s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
      svg.appendChild(s('text', { class: 'tick', x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' },
        fmtValue(v, unit)));
    });
    var tt = timeTicks(from, to, Math.max(2, Math.floor((W - m.l - m.r) / 90)));
    tt.ticks.forEach(function (ms) {
      svg.appendChild(s('line', { class: 'grid', x1: x(ms), x2: x(ms), y1: m.t, y2: H - m.b }));
      svg.appendChild(s('text', { class: 'tick', x: x(ms), y: H - 6, 'text-anchor': 'middle' },
        o.elapsed ? fmtElapsed(ms) : fmtTime(ms, tt.seconds)));
    });
    svg.appendChild(s('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    svg.appendChild(s('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));

    (o.markers || []).forEach(function (mk) {
      var ms = typeof mk === 'number' ? mk : mk.t;
      if (ms < from || ms > to) return;
      var at = o.elapsed ? fmtElapsed(ms) : fmtTime(ms, true);
      var label = typeof mk === 'number' ? 'phase changed at ' + at : mk.label + ' (' + at + ')';
      svg.appendChild(s('line', { class: 'marker', x1: x(ms), x2: x(ms), y1: m.t, y2: H - m.b },
        s('title', null, label)));
      if (typeof mk !== 'number' && mk.short) {
        svg.appendChild(s('text', { class: 'marker-label', x: x(ms) + 3, y: m.t + 10 }, mk.short));
      }
    });
    if (o.threshold) {
      var ty = y(o.threshold.value);
      svg.appendChild(s('line', { class: 'threshold', x1: m.l, x2: W - m.r, y1: ty, y2: ty }));
      // Above the line, unless that would leave the plot; then below it.
      var ly = ty - 4 < m.t + 10 ? ty + 12 : ty - 4;
      svg.appendChild(s('text', { class: 'threshold-label', x: W - m.r - 2, y: ly, 'text-anchor': 'end' },
        o.threshold.label || fmtValue(o.threshold.value, unit)));
    }

    series.forEach(function (sr, i) {
      var d = '', pen = false, run = [];
      // A value with no neighbour draws no line: show it as a small ring of the series' colour.
      var ring = function () {
        if (run.length === 1) {
          svg.appendChild(s('circle', { class: 'line', 'data-i': i % PALETTE.length,
            cx: run[0][0], cy: run[0][1], r: 2.5 }));
        }
        run = [];
      };
      for (var k = 0; k < t.length; k++) {
        var v = sr.values[k];
        if (v === null || v === undefined || !isFinite(v) || t[k] < from) { pen = false; ring(); continue; }
        d += (pen ? 'L' : 'M') + x(t[k]).toFixed(1) + ' ' + y(v).toFixed(1);
        run.push([x(t[k]).toFixed(1), y(v).toFixed(1)]);
        pen = true;
      }
      ring();
      if (d) svg.appendChild(s('path', { class: 'line', 'data-i': i % PALETTE.length, d: d }));
    });
    container.appendChild(svg);
    return svg;
  }

  // barChart(container, {labels: [..], values: [..], unit, title, height}): one bar per value,
  // labelled below (a latency histogram). Replaces the container's content with the SVG.
  function barChart(container, o) {
    clear(container);
    var labels = o.labels || [], values = o.values || [];
    var W = Math.max(280, container.clientWidth || 360);
    var H = o.height || 170;
    var m = { l: 58, r: 12, t: 8, b: 22 };
    var hi = Math.max.apply(null, values.concat([1]));
    var yt = ticks(0, hi * 1.05, 4);
    hi = Math.max(hi, yt[yt.length - 1]);
    var svg = s('svg', {
      class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
      role: 'img', 'aria-label': o.title || 'bar chart'
    });
    var y = function (v) { return H - m.b - (H - m.t - m.b) * v / hi; };
    yt.forEach(function (v) {
      svg.appendChild(s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
      svg.appendChild(s('text', { class: 'tick', x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' },
        fmtValue(v, o.unit)));
    });
    var slot = (W - m.l - m.r) / Math.max(1, values.length);
    // Label every bar if they fit, else every second or third.
    var every = Math.max(1, Math.ceil(46 / slot));
    values.forEach(function (v, i) {
      var x0 = m.l + slot * i + slot * 0.12;
      svg.appendChild(s('path', {
        class: 'bar', 'data-i': 0,
        d: 'M' + x0.toFixed(1) + ' ' + y(0).toFixed(1) + 'V' + y(v).toFixed(1) +
          'H' + (x0 + slot * 0.76).toFixed(1) + 'V' + y(0).toFixed(1) + 'Z'
      }, s('title', null, labels[i] + ': ' + v)));
      if (i % every === 0) {
        svg.appendChild(s('text', { class: 'tick', x: x0 + slot * 0.38, y: H - 6, 'text-anchor': 'middle' },
          labels[i]));
      }
    });
    svg.appendChild(s('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: y(0), y2: y(0) }));
    container.appendChild(svg);
    return svg;
  }

  function lastValue(values) {
    for (var i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null && isFinite(values[i])) return values[i];
    }
    return null;
  }

  // thin(cols, max): columns of one length keyed by name (a chart's t and its series); past max
  // points, halves the resolution of the older half rather than forget the start of a run.
  function thin(cols, max) {
    var keys = Object.keys(cols);
    var n = keys.length ? cols[keys[0]].length : 0;
    if (n <= max) return;
    keys.forEach(function (k) {
      cols[k] = cols[k].filter(function (_, i) { return i >= n / 2 || i % 2 === 0; });
    });
  }

  // Every page polls its server once a second: the figures it shows are per-second rates.
  global.WebUI = {
    POLL_MS: 1000,
    h: h, svg: s, clear: clear, lineChart: lineChart, barChart: barChart, fmtValue: fmtValue,
    fmtTime: fmtTime, fmtElapsed: fmtElapsed,
    ticks: ticks, thin: thin, palette: PALETTE
  };
})(window);

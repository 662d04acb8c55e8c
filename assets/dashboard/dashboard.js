// The ntpkit dashboard: polls the daemon's /api/snapshot and /api/history and
// draws them with uPlot. Plain browser JS, no build step, no network beyond the
// daemon that served the page. Every value from the daemon goes into the page
// through textContent, never as HTML.
'use strict';

(() => {
  /** Rows kept in the browser: the daemon's own history bound (1 h at 2 s). */
  const MAX_ROWS = 1800;
  const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#0a7d8c', '#d1242f', '#57606a'];
  const $ = (sel) => document.querySelector(sel);

  let intervalMs = 2000;
  let refreshes = 0;
  /** The history as the browser holds it, merged from incremental fetches. */
  const hist = {
    t: [],
    tracking: { systemTime: [], lastOffset: [], frequencyPpm: [], skewPpm: [], rootDistance: [] },
    server: { requestsPerSecond: [], dropsPerSecond: [] },
    /** id -> { id, name, offset[], delay[], jitter[], frequencyPpm[] }, each as long as t. */
    sources: new Map(),
  };

  // ---- number formatting ----------------------------------------------------

  const UNITS = [[1, 's'], [1e-3, 'ms'], [1e-6, 'us'], [1e-9, 'ns']];

  /** Seconds with an SI prefix and 4 significant digits: "+1.234 ms". */
  function seconds(x, signed) {
    if (x === null || x === undefined || !Number.isFinite(x)) return '-';
    if (x === 0) return '0 s';
    const a = Math.abs(x);
    const [scale, unit] = UNITS.find(([s]) => a >= s) || UNITS[UNITS.length - 1];
    const v = (x / scale).toPrecision(4);
    return `${signed && x >= 0 ? '+' : ''}${v} ${unit}`;
  }

  function fixed(x, digits) {
    return Number.isFinite(x) ? x.toFixed(digits) : '-';
  }

  /** Axis ticks: seconds with a prefix, compact. */
  function secondsTicks(_u, values) {
    return values.map((v) => (v === 0 ? '0' : seconds(v, false).replace(/\.?0+ /, ' ')));
  }

  /** Offset axis ticks: 0 and 1 us, 1 ms, 1 s each side, which the arcsinh scale spaces about evenly. */
  function signedDecades(_u, _axis, min, max) {
    const out = [0];
    for (let e = -6; e <= 0; e += 3) {
      const v = 10 ** e;
      if (v <= max) out.push(v);
      if (-v >= min) out.push(-v);
    }
    return out.sort((a, b) => a - b);
  }

  function refIdText(t) {
    const hex = (t.referenceId >>> 0).toString(16).toUpperCase().padStart(8, '0');
    return `${hex} (${t.referenceName || ''})`;
  }

  /** chronyc's LastRx: seconds, then minutes, hours, days past 4 digits. */
  function interval(s) {
    if (s === null || s === undefined) return '-';
    if (s < 1e4) return `${Math.round(s)}`;
    if (s < 60 * 1e4) return `${Math.round(s / 60)}m`;
    if (s < 3600 * 1e4) return `${Math.round(s / 3600)}h`;
    return `${Math.round(s / 86400)}d`;
  }

  function setField(root, name, text) {
    const el = root.querySelector(`[data-field="${name}"]`);
    if (el) el.textContent = text;
  }

  // ---- the live panels ------------------------------------------------------

  function renderTracking(snap) {
    const t = snap.tracking;
    const root = $('#tracking');
    setField(root, 'reference', refIdText(t));
    setField(root, 'stratum', String(t.stratum));
    setField(root, 'refTime', t.refTime === null ? '-' : new Date(Number(t.refTime) * 1000).toISOString().replace('T', ' ').replace('Z', ''));
    // Signs and words as chronyc tracking: the snapshot keeps RFC 5905's, chronyc shows local minus NTP.
    setField(root, 'systemTime', `${seconds(Math.abs(t.systemTime), false)} ${t.systemTime < 0 ? 'slow' : 'fast'} of NTP time`);
    setField(root, 'lastOffset', seconds(-t.lastOffset, true));
    setField(root, 'rmsOffset', seconds(t.rmsOffset, false));
    setField(root, 'frequency', `${fixed(Math.abs(t.frequencyPpm), 3)} ppm ${t.frequencyPpm < 0 ? 'fast' : 'slow'}`);
    setField(root, 'residualFreq', `${fixed(-t.residualFreqPpm, 3)} ppm`);
    setField(root, 'skew', `${fixed(t.skewPpm, 3)} ppm`);
    setField(root, 'rootDelay', seconds(t.rootDelay, false));
    setField(root, 'rootDispersion', seconds(t.rootDispersion, false));
    setField(root, 'updateInterval', `${fixed(t.updateInterval, 1)} seconds`);
    setField(root, 'leap', t.leapStatus === 'unsynchronized' ? 'Not synchronised' : t.leapStatus === 'normal' ? 'Normal' : t.leapStatus === 'insert' ? 'Insert second' : 'Delete second');
    setField(root, 'synchronized', t.synchronized ? 'yes' : 'no');

    const badge = $('#sync-state');
    badge.textContent = t.synchronized ? 'synchronized' : 'not synchronized';
    badge.className = `badge ${t.synchronized ? 'ok' : 'bad'}`;
    const selected = snap.sources.find((s) => s.verdict === 'selected');
    $('#status-detail').textContent = `${snap.clock} clock` +
      (selected ? `, following ${selected.name}` : '') +
      `; updated ${new Date().toLocaleTimeString()}`;
  }

  function renderSources(snap, symbols) {
    const body = $('#sources tbody');
    const rows = snap.sources.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.sourceId = String(s.id);
      tr.dataset.verdict = s.verdict;
      const mode = s.kind === 'peer' ? '=' : '^';
      const last = s.lastSample;
      const cells = [
        `${mode}${symbols[s.verdict] || '?'}`,
        s.address && s.address !== s.name ? `${s.name} (${s.address})` : s.name,
        String(s.stratum),
        String(s.poll),
        (s.reach & 0xff).toString(8).padStart(3, '0'),
        interval(s.lastRxAgo),
        last ? seconds(-last.adjustedOffset, true) : '-',
        last ? `+/- ${seconds(last.error, false)}` : '-',
        last ? seconds(last.delay, false) : '-',
        seconds(s.jitter, false),
        s.verdict,
        s.reason,
      ];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    });
    body.replaceChildren(...rows);
  }

  function renderServer(stats) {
    const root = $('#server-load');
    const n = hist.t.length;
    const rate = (col) => (n > 0 && col[n - 1] !== null ? `${fixed(col[n - 1], 1)} /s` : '-');
    setField(root, 'requestsPerSecond', stats === null ? 'not serving' : rate(hist.server.requestsPerSecond));
    setField(root, 'dropsPerSecond', stats === null ? '-' : rate(hist.server.dropsPerSecond));
    setField(root, 'received', stats === null ? '-' : String(stats.ntpPacketsReceived));
    setField(root, 'replied', stats === null ? '-' : String(stats.ntpPacketsReplied));
    setField(root, 'dropped', stats === null ? '-' : String(stats.ntpPacketsDropped));
    const reasons = stats === null ? [] : Object.entries(stats.droppedByReason).filter(([, v]) => v > 0);
    setField(root, 'dropReasons', reasons.length === 0 ? 'none' : reasons.map(([k, v]) => `${k} ${v}`).join(', '));
  }

  // ---- history, merged incrementally ----------------------------------------

  function mergeHistory(h) {
    const before = hist.t.length;
    const added = h.t.length;
    if (added === 0) return;
    hist.t.push(...h.t);
    for (const k of Object.keys(hist.tracking)) hist.tracking[k].push(...h.tracking[k]);
    for (const k of Object.keys(hist.server)) hist.server[k].push(...h.server[k]);
    const seen = new Set();
    for (const s of h.sources) {
      seen.add(s.id);
      let mine = hist.sources.get(s.id);
      if (!mine) {
        const gap = () => new Array(before).fill(null);
        mine = { id: s.id, name: s.name, offset: gap(), delay: gap(), jitter: gap(), frequencyPpm: gap() };
        hist.sources.set(s.id, mine);
      }
      mine.name = s.address && s.address !== s.name ? `${s.name} (${s.address})` : s.name;
      // Plotted with chronyc's sign: local minus source.
      mine.offset.push(...s.offset.map((v) => (v === null ? null : -v)));
      mine.delay.push(...s.delay);
      mine.jitter.push(...s.jitter);
      mine.frequencyPpm.push(...s.frequencyPpm);
    }
    for (const [id, mine] of hist.sources) {
      if (seen.has(id)) continue;
      for (const k of ['offset', 'delay', 'jitter', 'frequencyPpm']) mine[k].push(...new Array(added).fill(null));
    }
    const excess = hist.t.length - MAX_ROWS;
    if (excess > 0) {
      hist.t.splice(0, excess);
      for (const k of Object.keys(hist.tracking)) hist.tracking[k].splice(0, excess);
      for (const k of Object.keys(hist.server)) hist.server[k].splice(0, excess);
      for (const [id, mine] of hist.sources) {
        for (const k of ['offset', 'delay', 'jitter', 'frequencyPpm']) mine[k].splice(0, excess);
        if (mine.offset.every((v) => v === null) && mine.jitter.every((v) => v === null)) hist.sources.delete(id);
      }
    }
  }

  // ---- plots ----------------------------------------------------------------

  /** Each plot: its element, how to build its series from the history, and its y scale. */
  const PLOTS = [
    {
      el: 'plot-offset',
      series: () => [
        { label: 'System time', values: hist.tracking.systemTime },
        ...sourceList().map((s) => ({ label: s.name, values: s.offset })),
      ],
      // arcsinh: linear within 1 us of zero, logarithmic beyond, so a 2.5 s liar and 50 us of noise share one plot.
      scale: { distr: 4, asinh: 1e-6 },
      ticks: secondsTicks,
      splits: signedDecades,
      value: (v) => seconds(v, true),
    },
    {
      el: 'plot-frequency',
      series: () => [
        { label: 'Clock correction', values: hist.tracking.frequencyPpm },
        { label: 'Skew', values: hist.tracking.skewPpm, dash: [4, 4] },
        ...sourceList().map((s) => ({ label: `${s.name} residual`, values: s.frequencyPpm })),
      ],
      scale: {},
      value: (v) => (v === null ? '-' : `${v.toFixed(3)} ppm`),
    },
    {
      el: 'plot-delay',
      series: () => sourceList().map((s) => ({ label: s.name, values: s.delay })),
      scale: {},
      ticks: secondsTicks,
      value: (v) => seconds(v, false),
    },
    {
      el: 'plot-jitter',
      series: () => sourceList().map((s) => ({ label: s.name, values: s.jitter })),
      scale: {},
      ticks: secondsTicks,
      value: (v) => seconds(v, false),
    },
    {
      el: 'plot-load',
      series: () => [
        { label: 'Requests', values: hist.server.requestsPerSecond },
        { label: 'Drops', values: hist.server.dropsPerSecond },
      ],
      scale: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] },
      value: (v) => (v === null ? '-' : `${v.toFixed(1)} /s`),
    },
  ];
  /** uPlot instances by element id, with the series labels they were built for. */
  const charts = new Map();

  function sourceList() {
    return [...hist.sources.values()].sort((a, b) => a.id - b.id);
  }

  function plotSize(el) {
    return { width: Math.max(300, el.clientWidth), height: 220 };
  }

  function drawPlots() {
    for (const p of PLOTS) {
      const el = document.getElementById(p.el);
      const series = p.series();
      const data = [hist.t, ...series.map((s) => s.values)];
      const key = series.map((s) => s.label).join('\n');
      const chart = charts.get(p.el);
      if (chart && chart.key === key) {
        chart.u.setData(data);
        continue;
      }
      // The series changed (a source came or went): uPlot fixes its series at creation.
      if (chart) chart.u.destroy();
      const opts = {
        ...plotSize(el),
        scales: { x: { time: true }, y: p.scale },
        axes: [{}, { size: 70, ...(p.ticks ? { values: p.ticks } : {}), ...(p.splits ? { splits: p.splits, filter: (_u, splits) => splits } : {}) }],
        // Labels only: values under the cursor would make the legend jump on every move.
        legend: { live: false },
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            value: (_u, v) => p.value(v),
            ...(s.dash ? { dash: s.dash } : {}),
          })),
        ],
      };
      charts.set(p.el, { key, u: new window.uPlot(opts, data, el) });
    }
  }

  window.addEventListener('resize', () => {
    for (const [id, chart] of charts) chart.u.setSize(plotSize(document.getElementById(id)));
  });

  // ---- polling --------------------------------------------------------------

  async function getJson(url) {
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.json();
  }

  async function refresh() {
    const last = hist.t.length > 0 ? hist.t[hist.t.length - 1] : null;
    const [api, h] = await Promise.all([
      getJson('/api/snapshot'),
      getJson(last === null ? '/api/history' : `/api/history?since=${last}`),
    ]);
    intervalMs = Math.max(500, api.sampleIntervalSeconds * 1000);
    mergeHistory(h);
    renderTracking(api.snapshot);
    renderSources(api.snapshot, api.verdictSymbols);
    renderServer(api.serverStats);
    drawPlots();
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
  }

  async function loop() {
    const error = $('#error');
    try {
      await refresh();
      error.hidden = true;
    } catch (e) {
      error.textContent = `Cannot reach the daemon: ${e.message}. Retrying every ${intervalMs / 1000} s.`;
      error.hidden = false;
    }
    setTimeout(loop, intervalMs);
  }

  loop();
})();

/**
 * The live dashboard served at `GET /` of the admin listener (and of the public one with
 * `http.observabilityPublic`): one self-contained HTML page (no external assets, no build step) that
 * fetches `/v1/stats` every second and shows accepted/rejected rates, ingress p99, consumer lag per partition as
 * bars (during a reshard also the draining generation's partitions; the total lag counts both), the shedding and
 * breaker state, and the log generation with the drain of an older one (resharding).
 * Elements carry `data-k` attributes so a headless-browser test can read the numbers the page shows.
 * On an admin listener that needs the token for reads (bound beyond loopback), open the page as `/#token=<token>`:
 * the fragment never leaves the browser, and the page sends it as `Authorization: Bearer` with each fetch.
 */

/** The page, built once at start-up. */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shock cell</title>
<style>
  :root { --bg:#0f1419; --panel:#171e26; --line:#263241; --text:#dbe4ee; --dim:#8796a8;
          --ok:#3fb950; --warn:#d29922; --bad:#f85149; --acc:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:baseline; gap:16px; padding:16px 24px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; letter-spacing:.02em; }
  header .sub { color:var(--dim); }
  header .status { margin-left:auto; font-size:13px; }
  .dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; background:var(--dim); }
  .dot.ok { background:var(--ok); } .dot.bad { background:var(--bad); } .dot.warn { background:var(--warn); }
  main { padding:20px 24px; display:grid; gap:16px; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); }
  .card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
  .card .label { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.06em; }
  .card .value { font-size:30px; font-weight:600; margin-top:4px; font-variant-numeric: tabular-nums; }
  .card .unit { font-size:13px; color:var(--dim); font-weight:400; margin-left:4px; }
  .card .foot { color:var(--dim); font-size:12px; margin-top:2px; font-variant-numeric: tabular-nums; }
  .wide { grid-column: 1 / -1; }
  .pill { display:inline-block; padding:2px 10px; border-radius:999px; font-size:14px; font-weight:600; }
  .pill.ok { background:rgba(63,185,80,.15); color:var(--ok); }
  .pill.warn { background:rgba(210,153,34,.15); color:var(--warn); }
  .pill.bad { background:rgba(248,81,73,.15); color:var(--bad); }
  .bars { display:flex; align-items:flex-end; gap:6px; height:170px; margin-top:30px; padding-bottom:22px; position:relative; }
  .bar { flex:1; min-width:10px; position:relative; height:100%; display:flex; align-items:flex-end; }
  .bar .fill { width:100%; background:linear-gradient(180deg, var(--acc), #1f6feb); border-radius:3px 3px 0 0; min-height:2px; transition:height .4s; }
  .bar .fill.hot { background:linear-gradient(180deg, var(--warn), #9e6a03); }
  .bar .n { position:absolute; bottom:-20px; width:100%; text-align:center; color:var(--dim); font-size:11px; }
  .bar .v { position:absolute; top:-2px; width:100%; text-align:center; font-size:11px; color:var(--text); transform:translateY(-100%); }
  svg.spark { width:100%; height:70px; display:block; margin-top:8px; }
  table { border-collapse:collapse; width:100%; font-variant-numeric: tabular-nums; font-size:13px; }
  td, th { padding:3px 8px; text-align:right; border-bottom:1px solid var(--line); }
  th { color:var(--dim); font-weight:500; } td:first-child, th:first-child { text-align:left; }
  .legend { font-size:12px; color:var(--dim); } .legend b { font-weight:600; }
</style>
</head>
<body>
<header>
  <h1>shock cell</h1>
  <span class="sub" data-k="subtitle">connecting…</span>
  <span class="status"><span class="dot" id="dot"></span><span data-k="updated">waiting for /v1/stats</span></span>
</header>
<main>
  <div class="card"><div class="label">accepted</div>
    <div class="value"><span data-k="accepted">–</span><span class="unit">events/s</span></div>
    <div class="foot">total <span data-k="acceptedTotal">–</span></div></div>
  <div class="card"><div class="label">rejected</div>
    <div class="value"><span data-k="rejected">–</span><span class="unit">events/s</span></div>
    <div class="foot">total <span data-k="rejectedTotal">–</span></div></div>
  <div class="card"><div class="label">ingress p99</div>
    <div class="value"><span data-k="p99">–</span><span class="unit">ms</span></div>
    <div class="foot">p50 <span data-k="p50">–</span> ms · 202s of the last 10 s</div></div>
  <div class="card"><div class="label">consumer lag</div>
    <div class="value"><span data-k="lag">–</span><span class="unit">events</span></div>
    <div class="foot">max <span data-k="lagSeconds">–</span> s · consuming <span data-k="consumed">–</span>/s</div></div>
  <div class="card"><div class="label">shedding</div>
    <div class="value"><span class="pill" data-k="shedding">–</span></div>
    <div class="foot">load <span data-k="load">–</span> · shed <span data-k="shedTotal">–</span> · 429 <span data-k="limited">–</span></div></div>
  <div class="card"><div class="label">breaker</div>
    <div class="value"><span class="pill" data-k="breaker">–</span></div>
    <div class="foot">consumers <span data-k="consumers">–</span> · restarts <span data-k="restarts">–</span> · skipped <span data-k="removedBeforeConsumed">–</span></div>
    <div class="foot" data-k="lastError"></div></div>
  <div class="card"><div class="label">log generation</div>
    <div class="value"><span data-k="generation">–</span></div>
    <div class="foot" data-k="generationDrain">–</div></div>
  <div class="card"><div class="label">log retention</div>
    <div class="value"><span class="pill" data-k="logFull">–</span></div>
    <div class="foot">unconsumed <span data-k="unconsumedBytes">–</span> bytes · policy <span data-k="retentionPolicy">–</span></div></div>
  <div class="card wide"><div class="label">events per second, last minute</div>
    <div class="legend"><b style="color:var(--acc)">■</b> accepted &nbsp; <b style="color:var(--bad)">■</b> rejected &nbsp; <b style="color:var(--warn)">■</b> consumed</div>
    <svg class="spark" id="spark" viewBox="0 0 600 70" preserveAspectRatio="none"></svg></div>
  <div class="card wide"><div class="label">lag per partition (events; a draining generation's as g&lt;gen&gt;·p&lt;n&gt;)</div>
    <div class="bars" id="bars" data-k="bars"></div></div>
  <div class="card wide"><div class="label">rejections by code</div>
    <table><thead><tr><th>code</th><th>total</th></tr></thead><tbody id="codes"><tr><td>none yet</td><td></td></tr></tbody></table></div>
</main>
<script>
"use strict";
var $ = function (k) { return document.querySelector('[data-k="' + k + '"]'); };
function fmt(n, digits) {
  if (n === null || n === undefined || !isFinite(n)) return '–';
  if (digits !== undefined) return Number(n).toFixed(digits);
  return Math.round(n).toLocaleString('en-US');
}
function pill(el, text, cls) { el.textContent = text; el.className = 'pill ' + cls; }
function line(values, max, color) {
  if (values.length < 2) return '';
  var pts = values.map(function (v, i) {
    return (i * 600 / (values.length - 1)).toFixed(1) + ',' + (68 - (v / max) * 64).toFixed(1);
  }).join(' ');
  return '<polyline fill="none" stroke="' + color + '" stroke-width="2" points="' + pts + '"/>';
}
function render(s) {
  var ing = s.ingress, con = s.consumers;
  $('subtitle').textContent = s.cell.partitions + ' partitions · up ' + fmt(s.cell.uptimeSec) + ' s · v' + s.cell.version;
  $('accepted').textContent = fmt(ing.acceptedPerSec);
  $('rejected').textContent = fmt(ing.rejectedPerSec);
  $('acceptedTotal').textContent = fmt(ing.acceptedTotal);
  $('rejectedTotal').textContent = fmt(ing.rejectedTotal);
  $('p99').textContent = ing.latencyMsP99 === null ? '–' : fmt(ing.latencyMsP99, 2);
  $('p50').textContent = ing.latencyMsP50 === null ? '–' : fmt(ing.latencyMsP50, 2);
  $('lag').textContent = fmt(con.lagEvents);
  $('lagSeconds').textContent = fmt(con.lagSecondsMax, 1);
  $('consumed').textContent = fmt(con.consumedPerSec);
  $('consumers').textContent = con.running ? (con.paused ? 'paused' : 'running') : 'stopped';
  // Worker restarts, and records retention removed before they were consumed (both 0 on a healthy cell).
  $('restarts').textContent = fmt(con.restarts);
  $('removedBeforeConsumed').textContent = fmt(con.removedBeforeConsumed);
  var le = con.lastError;
  $('lastError').textContent = le ? 'last worker error ' + (le.code || le.reason) + ' at ' + new Date(le.atMs).toLocaleTimeString() + ': ' + le.message : '';
  $('lastError').title = le ? le.message : '';
  pill($('shedding'), s.shedding.active ? (s.shedding.mode === 'delay' ? 'delaying' : 'shedding') : 'normal', s.shedding.active ? 'bad' : 'ok');
  $('load').textContent = fmt(s.shedding.loadRatio, 2) + ' (' + s.shedding.reason.replace(/_/g, ' ') + ')';
  $('shedTotal').textContent = fmt(s.shedding.shedTotal);
  $('limited').textContent = fmt(s.rateLimit.limitedTotal);
  var rs = s.reshard;
  $('generation').textContent = rs ? String(rs.generation) : '–';
  $('generationDrain').textContent = !rs ? 'engine does not reshard' : rs.generations.filter(function (g) {
    return g.state === 'sealed';
  }).map(function (g) {
    return 'draining gen ' + g.gen + ' (' + g.partitions + ' partitions): ' + fmt(g.lagEvents) + ' events left';
  }).join(' · ') || 'nothing draining';
  // Full: unconsumed records at maxBytes (or the disk floor); the ingress answers 503 SHOCK_LOG_FULL until consumed.
  var lg = s.log;
  if (lg) {
    pill($('logFull'), lg.full ? 'full (503)' : 'room', lg.full ? 'bad' : 'ok');
    $('unconsumedBytes').textContent = fmt(lg.unconsumedBytes);
    $('retentionPolicy').textContent = lg.policy;
  }
  var b = s.breaker.state;
  pill($('breaker'), b, b === 'closed' ? 'ok' : b === 'open' ? 'bad' : 'warn');
  // During a reshard the partitions of the generation still draining follow the active ones (labelled g<gen>·p<n>).
  var parts = con.partitions, maxLag = 1;
  parts.forEach(function (p) { if (p.lagEvents > maxLag) maxLag = p.lagEvents; });
  $('bars').innerHTML = parts.map(function (p) {
    var old = rs && p.generation !== undefined && p.generation !== rs.generation;
    var name = old ? 'g' + p.generation + '·p' + p.partition : 'p' + p.partition;
    var k = old ? 'lag-g' + p.generation + '-' + p.partition : 'lag-' + p.partition;
    var h = Math.max(1, Math.round(100 * p.lagEvents / maxLag));
    return '<div class="bar" title="' + (old ? 'draining generation ' + p.generation + ', ' : '') + 'partition ' + p.partition + ': ' + p.lagEvents + ' events, ' + p.lagSeconds.toFixed(1) + ' s">' +
      '<span class="v" data-k="' + k + '">' + fmt(p.lagEvents) + '</span>' +
      '<div class="fill' + (p.lagEvents > 0 ? ' hot' : '') + '" style="height:' + (p.lagEvents > 0 ? h : 1) + '%"></div>' +
      '<span class="n">' + name + '</span></div>';
  }).join('');
  var a = s.series.acceptedPerSec, r = s.series.rejectedPerSec, c = s.series.consumedPerSec;
  var max = 1; a.concat(r, c).forEach(function (v) { if (v > max) max = v; });
  document.getElementById('spark').innerHTML = line(c, max, '#d29922') + line(r, max, '#f85149') + line(a, max, '#58a6ff');
  var codes = Object.keys(ing.rejectedByCode).sort();
  document.getElementById('codes').innerHTML = codes.length === 0 ? '<tr><td>none yet</td><td></td></tr>' :
    codes.map(function (k) { return '<tr><td>' + k + '</td><td>' + fmt(ing.rejectedByCode[k]) + '</td></tr>'; }).join('');
  var dot = document.getElementById('dot');
  dot.className = 'dot ' + (s.cell.ready ? 'ok' : 'warn');
  $('updated').textContent = (s.cell.ready ? 'ready' : 'not ready') + ' · updated ' + new Date().toLocaleTimeString();
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
}
var token = (/[#&]token=([^&]+)/.exec(location.hash) || [])[1];
var headers = token ? { authorization: 'Bearer ' + decodeURIComponent(token) } : {};
function tick() {
  fetch('/v1/stats', { cache: 'no-store', headers: headers })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(render)
    .catch(function (e) {
      document.getElementById('dot').className = 'dot bad';
      $('updated').textContent = 'cannot reach the cell: ' + e.message;
    })
    .finally(function () { setTimeout(tick, 1000); });
}
tick();
</script>
</body>
</html>
`;

/**
 * The `shuffle` theme: four tiles trading places around a square while the
 * instances come up.
 *
 * @module
 */

/** The theme's template. */
export const SHUFFLE: string = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="refresh" content="{{refreshSeconds}}">
<title>Waking {{displayName}}…</title>
<style>
*{box-sizing:border-box}
html,body{margin:0;min-height:100%}
body{min-height:100vh;display:flex;align-items:center;justify-content:center;padding:32px 20px;
background:#1c1b29;background-image:radial-gradient(circle at 15% 20%,#2e2a4f 0,transparent 45%),radial-gradient(circle at 85% 80%,#3b2342 0,transparent 45%);
color:#ecebf5;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:600px;text-align:center}
.board{position:relative;width:112px;height:112px;margin:0 auto 30px}
.tile{position:absolute;left:0;top:0;width:50px;height:50px;border-radius:12px;box-shadow:0 8px 18px rgba(0,0,0,.35);animation:round 4s cubic-bezier(.7,0,.3,1) infinite}
.tile:nth-child(1){background:#f472b6}
.tile:nth-child(2){background:#facc15;animation-delay:-1s}
.tile:nth-child(3){background:#34d399;animation-delay:-2s}
.tile:nth-child(4){background:#60a5fa;animation-delay:-3s}
@keyframes round{0%,20%{transform:translate(0,0)}25%,45%{transform:translate(62px,0)}50%,70%{transform:translate(62px,62px)}75%,95%{transform:translate(0,62px)}100%{transform:translate(0,0)}}
h1{margin:0 0 8px;font-size:clamp(24px,5vw,34px);line-height:1.2;font-weight:800;letter-spacing:-.02em;word-break:break-word}
h1 span{background:linear-gradient(90deg,#f472b6,#facc15,#34d399,#60a5fa);-webkit-background-clip:text;background-clip:text;color:transparent}
.lead{margin:0 0 24px;color:#b4b1cc}
.meter{height:6px;max-width:320px;margin:-10px auto 26px;border-radius:3px;background:#34324a;overflow:hidden}
.meter::after{content:"";display:block;height:100%;width:40%;border-radius:3px;background:linear-gradient(90deg,#f472b6,#60a5fa);animation:slide 1.6s ease-in-out infinite}
@keyframes slide{from{transform:translateX(-100%)}to{transform:translateX(250%)}}
.iw-instances{list-style:none;margin:0 0 24px;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;align-items:start;text-align:left}
.iw-instance{padding:12px 14px;border-radius:12px;background:#26243a;border-left:4px solid #facc15;display:flex;flex-direction:column;min-width:0}
.iw-is-ready{border-left-color:#34d399}
.iw-is-error{border-left-color:#f87171}
.iw-name{font-weight:700;overflow-wrap:anywhere}
.iw-status{font-size:13px;color:#b4b1cc}
.iw-reason{font-size:13px;color:#fca5a5;overflow-wrap:anywhere}
.iw-more{padding:12px 14px;color:#b4b1cc;align-self:center}
.foot{margin:0;font-size:13px;color:#8f8ba8}
@media (prefers-reduced-motion:reduce){.tile,.meter::after{animation:none}.tile:nth-child(2){transform:translate(62px,0)}.tile:nth-child(3){transform:translate(62px,62px)}.tile:nth-child(4){transform:translate(0,62px)}}
</style>
</head>
<body class="iw-page-{{status}}">
<main>
<div class="board" aria-hidden="true"><i class="tile"></i><i class="tile"></i><i class="tile"></i><i class="tile"></i></div>
<h1>Shuffling <span>{{displayName}}</span> back in</h1>
<p class="lead" role="status">{{readyCount}} of {{instanceCount}} ready. This page reloads every {{refreshSeconds}} s.</p>
<div class="meter" aria-hidden="true"></div>
{{instancesHtml}}
<p class="foot">Unused for {{sessionDuration}}, it goes back to sleep.</p>
</main>
</body>
</html>
`;

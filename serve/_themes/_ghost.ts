/**
 * The `ghost` theme: a light page with a small ghost floating above its shadow.
 *
 * @module
 */

/** The theme's template. */
export const GHOST: string = `<!DOCTYPE html>
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
background:linear-gradient(160deg,#f5f3ff 0%,#eef4ff 55%,#fdf2f8 100%);color:#312e47;
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{text-align:center;max-width:560px;width:100%}
.stage{height:170px;position:relative;margin-bottom:18px}
.ghost{position:absolute;left:50%;top:10px;width:96px;height:118px;margin-left:-48px;
background:#fff;border-radius:48px 48px 10px 10px;box-shadow:inset 0 -6px 0 #ebe7fb,0 10px 30px rgba(91,79,173,.15);
animation:float 3.2s ease-in-out infinite}
.ghost::before,.ghost::after{content:"";position:absolute;top:42px;width:11px;height:15px;border-radius:50%;background:#312e47}
.ghost::before{left:28px}.ghost::after{right:28px}
.hem{position:absolute;bottom:-9px;left:0;right:0;height:18px;
background:radial-gradient(circle at 12px 0,#fff 12px,transparent 12.5px) 0 0/24px 18px repeat-x}
.cheek{position:absolute;top:62px;width:12px;height:6px;border-radius:50%;background:#fbcfe8}
.cheek.l{left:18px}.cheek.r{right:18px}
.shadow{position:absolute;left:50%;bottom:4px;width:76px;height:12px;margin-left:-38px;border-radius:50%;
background:rgba(91,79,173,.18);animation:shadow 3.2s ease-in-out infinite}
@keyframes float{50%{transform:translateY(-16px)}}
@keyframes shadow{50%{transform:scale(.7);opacity:.6}}
h1{font-size:clamp(24px,5vw,34px);line-height:1.2;margin:0 0 10px;font-weight:700;letter-spacing:-.01em}
h1 strong{color:#6d5dd3;word-break:break-word}
.lead{margin:0 0 22px;color:#625d7d}
.iw-instances{list-style:none;padding:0;margin:0 auto 22px;display:flex;flex-wrap:wrap;gap:8px;justify-content:center}
.iw-instance{display:inline-flex;flex-wrap:wrap;align-items:center;gap:8px;padding:6px 14px;border-radius:999px;background:#fff;
box-shadow:0 2px 8px rgba(91,79,173,.1);font-size:14px;max-width:100%}
.iw-instance::before{content:"";width:9px;height:9px;border-radius:50%;background:#f59e0b;animation:pulse 1.4s ease-in-out infinite}
.iw-is-ready::before{background:#10b981;animation:none}
.iw-is-error::before{background:#ef4444;animation:none}
.iw-name{font-weight:600;word-break:break-all}
.iw-status{color:#8a84a3}
.iw-is-error{border-radius:16px}
.iw-reason{flex-basis:100%;color:#b91c1c;font-size:13px;text-align:left}
.iw-more{align-self:center;color:#8a84a3;font-size:14px}
@keyframes pulse{50%{opacity:.35}}
.foot{font-size:13px;color:#8a84a3;margin:0}
@media (prefers-reduced-motion:reduce){.ghost,.shadow,.iw-instance::before{animation:none}}
</style>
</head>
<body class="iw-page-{{status}}">
<main>
<div class="stage" aria-hidden="true"><div class="ghost"><span class="cheek l"></span><span class="cheek r"></span><span class="hem"></span></div><div class="shadow"></div></div>
<h1><strong>{{displayName}}</strong> is waking up</h1>
<p class="lead" role="status">{{readyCount}} of {{instanceCount}} ready. Hang on, this page reloads itself every {{refreshSeconds}} s.</p>
{{instancesHtml}}
<p class="foot">It naps again after {{sessionDuration}} without visitors.</p>
</main>
</body>
</html>
`;

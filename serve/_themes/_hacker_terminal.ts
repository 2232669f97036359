/**
 * The `hacker-terminal` theme (the default): a terminal window replaying the
 * wake as a command's output.
 *
 * @module
 */

/** The theme's template. */
export const HACKER_TERMINAL: string = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="refresh" content="{{refreshSeconds}}">
<title>Waking {{displayName}}…</title>
<style>
*{box-sizing:border-box}
html,body{margin:0}
body{min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px;
background:radial-gradient(ellipse at top,#0f2027 0%,#070b0e 70%);color:#c9d1d9;
font:15px/1.6 ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace}
.window{width:100%;max-width:760px;border-radius:10px;overflow:hidden;background:#0d1117;
border:1px solid #30363d;box-shadow:0 24px 60px rgba(0,0,0,.6),0 0 0 1px rgba(46,160,67,.08)}
.bar{display:flex;align-items:center;gap:8px;padding:10px 14px;background:#161b22;border-bottom:1px solid #30363d}
.dot{width:12px;height:12px;border-radius:50%;background:#ff5f56}
.dot:nth-child(2){background:#ffbd2e}.dot:nth-child(3){background:#27c93f}
.bar .title{flex:1;text-align:center;color:#8b949e;font-size:13px;margin-right:44px}
.screen{position:relative;padding:22px 26px 26px;min-height:300px}
.screen::after{content:"";position:absolute;inset:0;pointer-events:none;
background:repeating-linear-gradient(180deg,rgba(255,255,255,.025) 0 1px,transparent 1px 3px)}
p{margin:0}
.prompt{color:#7ee787}.prompt::before{content:"$ ";color:#58a6ff}
.name{color:#f0f6fc;font-weight:bold}
.muted{color:#8b949e}
.working{margin:6px 0 12px;color:#d29922}
.working::after{content:" — starting"}
.iw-page-ready .working{color:#7ee787}
.iw-page-ready .working::after{content:" — opening"}
.iw-page-error .working::after{content:" — a start failed";color:#f85149}
.iw-instances{list-style:none;margin:0 0 14px;padding:0}
.iw-instance{display:flex;flex-wrap:wrap;gap:0 1ch;padding:1px 0}
.iw-instance::before{content:"[ .. ]";color:#d29922;white-space:pre}
.iw-is-ready::before{content:"[ ok ]";color:#3fb950}
.iw-is-error::before{content:"[FAIL]";color:#f85149}
.iw-name{color:#f0f6fc;min-width:18ch;word-break:break-all}
.iw-status{color:#d29922}
.iw-is-ready .iw-status{color:#3fb950}
.iw-is-error .iw-status{color:#f85149}
.iw-reason{flex-basis:100%;color:#ffa198;padding-left:7ch;white-space:pre-wrap;word-break:break-word}
.iw-more{color:#8b949e;padding-left:7ch}
.cursor{display:inline-block;width:.6em;height:1.1em;vertical-align:text-bottom;background:#7ee787;animation:blink 1s steps(1) infinite}
@keyframes blink{50%{opacity:0}}
.note{margin-top:4px;font-size:13px}
.note+.prompt{margin-top:12px}
@media (prefers-reduced-motion:reduce){.cursor{animation:none}}
</style>
</head>
<body class="iw-page-{{status}}">
<main class="window" role="main">
<div class="bar" aria-hidden="true"><span class="dot"></span><span class="dot"></span><span class="dot"></span><span class="title">idlewatcher</span></div>
<div class="screen">
<p class="prompt">wake <span class="name">{{displayName}}</span></p>
<p class="working" role="status">{{readyCount}} of {{instanceCount}} ready</p>
{{instancesHtml}}
<p class="muted note"># it goes back to sleep after {{sessionDuration}} without requests</p>
<p class="muted note"># this page reloads every {{refreshSeconds}} s and lets you in once everything is up</p>
<p class="prompt"><span class="cursor"></span></p>
</div>
</main>
</body>
</html>
`;

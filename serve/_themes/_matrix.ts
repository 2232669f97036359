/**
 * The `matrix` theme: green glyphs raining behind a console panel, drawn with
 * CSS alone.
 *
 * @module
 */

const GLYPHS = "0123456789ABCDEFΣΔΘΛΞΠΦΨΩ=+*#%$@";
const COLUMNS = 28;
const LENGTH = 26;

/** The rain: the same columns every time, from a fixed seed. */
function rain(): string {
  let seed = 0x2f6b;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const columns: string[] = [];
  for (let column = 0; column < COLUMNS; column++) {
    let text = "";
    for (let index = 0; index < LENGTH; index++) {
      text += GLYPHS[Math.floor(next() * GLYPHS.length)];
    }
    const left = ((column + next() * 0.6) * 100 / COLUMNS).toFixed(1);
    const duration = (5 + next() * 7).toFixed(1);
    const delay = (next() * 10).toFixed(1);
    const size = 13 + Math.floor(next() * 8);
    columns.push(
      `<span style="left:${left}%;font-size:${size}px;animation-duration:${duration}s;` +
        `animation-delay:-${delay}s">${text}</span>`,
    );
  }
  return columns.join("");
}

/** The theme's template. */
export const MATRIX: string = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="refresh" content="{{refreshSeconds}}">
<title>Waking {{displayName}}…</title>
<style>
*{box-sizing:border-box}
html,body{margin:0;background:#000}
body{min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px;overflow-x:hidden;
color:#b6ffb6;font:15px/1.6 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
.rain{position:fixed;inset:0;overflow:hidden}
.rain span{position:absolute;top:0;writing-mode:vertical-rl;text-orientation:upright;letter-spacing:2px;
color:#22c55e;opacity:.75;text-shadow:0 0 8px #16a34a;animation:fall linear infinite;
-webkit-mask-image:linear-gradient(to bottom,transparent,#000 75%,#fff);mask-image:linear-gradient(to bottom,transparent,#000 75%)}
@keyframes fall{from{transform:translateY(-110%)}to{transform:translateY(110vh)}}
.panel{position:relative;width:100%;max-width:620px;padding:28px 30px;border:1px solid rgba(74,222,128,.55);
background:rgba(0,10,2,.86);box-shadow:0 0 40px rgba(34,197,94,.25),inset 0 0 30px rgba(34,197,94,.08)}
.kicker{margin:0 0 6px;color:#4ade80;font-size:13px;letter-spacing:.2em;text-transform:uppercase}
h1{margin:0 0 14px;font-size:clamp(22px,4.5vw,30px);font-weight:normal;color:#eaffea;text-shadow:0 0 12px #22c55e;word-break:break-word}
h1::after{content:"_";animation:blink 1s steps(1) infinite}
@keyframes blink{50%{opacity:0}}
.status{margin:0 0 16px;color:#86efac}
.iw-instances{list-style:none;margin:0 0 16px;padding:0;border-top:1px dashed rgba(74,222,128,.35)}
.iw-instance{display:flex;flex-wrap:wrap;gap:0 12px;padding:5px 0;border-bottom:1px dashed rgba(74,222,128,.2)}
.iw-name{flex:1;color:#eaffea;word-break:break-all}
.iw-status{color:#facc15;text-transform:uppercase;font-size:13px}
.iw-is-ready .iw-status{color:#4ade80}
.iw-is-error .iw-status{color:#f87171}
.iw-reason{flex-basis:100%;color:#fca5a5;font-size:13px}
.iw-more{padding:5px 0;color:#4ade80}
.foot{margin:0;color:#4ade80;font-size:13px;opacity:.85}
@media (prefers-reduced-motion:reduce){.rain span,h1::after{animation:none}.rain{display:none}}
</style>
</head>
<body class="iw-page-{{status}}">
<div class="rain" aria-hidden="true">${rain()}</div>
<main class="panel">
<p class="kicker">wake up</p>
<h1>{{displayName}}</h1>
<p class="status" role="status">{{readyCount}}/{{instanceCount}} online. Reloading every {{refreshSeconds}} s.</p>
{{instancesHtml}}
<p class="foot">Back to sleep after {{sessionDuration}} without requests.</p>
</main>
</body>
</html>
`;

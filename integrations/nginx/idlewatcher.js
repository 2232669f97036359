/*
 * nginx glue for `idlewatcher serve` (njs, nginx's JavaScript module).
 *
 * Each request to a location that runs `js_content idlewatcher.call` asks the
 * idle watcher, through an internal location, whether its instances are ready:
 *
 * - ready (header `X-Sablier-Session-Status: ready`): the request goes on to
 *   the backend, through `internalRedirect` to `$sablierNginxInternalRedirect`;
 * - not ready: the idle watcher's loading page is shown (200, `no-cache`); it
 *   reloads itself until the instances are up;
 * - anything else (an unknown name, a bad duration, a blocking timeout, the
 *   idle watcher down): its answer is shown with its own status.
 *
 * It reads the same variables as Sablier's nginx module, so a configuration
 * written for Sablier works unchanged, against Sablier or idlewatcher:
 *
 *   $sablierUrl                     the internal location that reaches the server (default /sablier)
 *   $sablierNames                   comma-separated instance names, or
 *   $sablierGroup                   a group (ignored when names are set)
 *   $sablierSessionDuration         a Go duration (5m, 1h30m)
 *   $sablierNginxInternalRedirect   where a ready request goes (a named location: @app)
 *   $sablierDynamicName, $sablierDynamicTheme, $sablierDynamicShowDetails,
 *   $sablierDynamicRefreshFrequency the loading page (dynamic strategy)
 *   $sablierBlockingTimeout         when set, wait up to this Go duration instead (blocking strategy)
 *
 * An unset variable is sent as an empty value, which the server reads as its
 * default. See integrations/nginx/README.md for a whole configuration.
 */

const STATUS_HEADER = "X-Sablier-Session-Status";

function variable(r, name) {
  const value = r.variables[name];
  return value === undefined || value === null ? "" : String(value);
}

function encodePairs(pairs) {
  return pairs
    .map((pair) => `${encodeURIComponent(pair[0])}=${encodeURIComponent(pair[1])}`)
    .join("&");
}

/** The subrequest for this request, or a string saying what is missing. */
function buildRequest(r) {
  const base = (variable(r, "sablierUrl") || "/sablier").replace(/\/+$/, "");
  const names = variable(r, "sablierNames").split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const group = names.length > 0 ? "" : variable(r, "sablierGroup").trim();
  if (names.length === 0 && group === "") return "set $sablierNames or $sablierGroup";
  if (variable(r, "sablierNginxInternalRedirect") === "") {
    return "set $sablierNginxInternalRedirect to the backend's location";
  }
  const pairs = names.length > 0 ? names.map((name) => ["names", name]) : [["group", group]];
  pairs.push(["session_duration", variable(r, "sablierSessionDuration")]);
  const timeout = variable(r, "sablierBlockingTimeout");
  if (timeout !== "") {
    pairs.push(["timeout", timeout]);
    return { uri: `${base}/api/strategies/blocking`, args: encodePairs(pairs) };
  }
  pairs.push(["display_name", variable(r, "sablierDynamicName")]);
  pairs.push(["theme", variable(r, "sablierDynamicTheme")]);
  pairs.push(["refresh_frequency", variable(r, "sablierDynamicRefreshFrequency")]);
  pairs.push(["show_details", variable(r, "sablierDynamicShowDetails")]);
  return { uri: `${base}/api/strategies/dynamic`, args: encodePairs(pairs) };
}

function answer(r, status, type, body) {
  r.headersOut["Content-Type"] = type;
  r.headersOut["Cache-Control"] = "no-cache";
  r.return(status, body);
}

async function call(r) {
  const request = buildRequest(r);
  if (typeof request === "string") {
    r.error(`idlewatcher: ${request}`);
    answer(r, 500, "text/plain; charset=utf-8", `Misconfigured idle watcher: ${request}\n`);
    return;
  }
  let reply;
  try {
    reply = await r.subrequest(request.uri, { args: request.args, method: "GET" });
  } catch (error) {
    r.error(`idlewatcher: subrequest to ${request.uri} failed: ${error}`);
    answer(r, 502, "text/plain; charset=utf-8", "The idle watcher cannot be reached.\n");
    return;
  }
  const status = reply.headersOut[STATUS_HEADER];
  if (status === "ready") {
    r.internalRedirect(variable(r, "sablierNginxInternalRedirect"));
    return;
  }
  if (status !== undefined) r.headersOut[STATUS_HEADER] = status;
  const type = reply.headersOut["Content-Type"] || "text/html; charset=utf-8";
  answer(r, reply.status || 502, type, reply.responseBuffer || "");
}

export default { call };

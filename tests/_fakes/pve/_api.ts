/**
 * The request pipeline of pveproxy, in its order: header checks, auth
 * (`auth_handler`), body checks, `find_handler`, permission check, proxy to
 * `{node}`, parameter validation, handler code; then the JSON formatter.
 *
 * @module
 */

import { AuthFailure, type AuthKind, type Identity } from "./_auth.ts";
import { die, paramError, permError, PveError } from "./_errors.ts";
import type { HttpRequest, HttpResponse, HttpResult } from "./_http.ts";
import { type Call, type Env, type Route, ROUTES } from "./_routes.ts";
import { validate } from "./_schema.ts";
import type { Timers } from "./_timers.ts";

/** One request as the fake saw it. */
export interface RequestLogEntry {
  method: string;
  /** The full path, e.g. `/api2/json/nodes/pve/lxc/101/status/current`. */
  path: string;
  query: Record<string, string>;
  /**
   * The parameters as the handler gets them: the form or JSON body with the
   * query on top, `_dc` dropped, a `password` shown as `***`. Empty until
   * the request gets past the checks of its headers.
   */
  params: Record<string, unknown>;
  /** The credential the request carried (valid or not). */
  auth: AuthKind;
  /** The status sent; 0 when the connection was dropped without an answer. */
  status: number;
}

/** Knobs the fake exposes as mutable fields. */
export interface ApiSettings {
  pveVersion: string;
  authDelayMs: number;
  latencyMs: number;
}

const JSON_TYPE = "application/json;charset=UTF-8";
const KNOWN_METHODS = new Set(["GET", "POST", "PUT", "DELETE"]);
const MAX_POST = 64 * 1024;

/** pveproxy's request handling on top of the raw HTTP layer. */
export class Api {
  readonly requests: RequestLogEntry[] = [];
  #env: Env;
  #timers: Timers;
  #settings: ApiSettings;
  #drop = 0;

  constructor(env: Env, timers: Timers, settings: ApiSettings) {
    this.#env = env;
    this.#timers = timers;
    this.#settings = settings;
  }

  /** Closes the connection without answering for the next `n` requests. */
  dropNext(n: number): void {
    this.#drop += n;
  }

  /** The {@linkcode HttpHandler}. */
  handle = async (req: HttpRequest): Promise<HttpResult> => {
    const entry: RequestLogEntry = {
      method: req.method,
      path: req.path,
      query: Object.fromEntries(new URLSearchParams(req.query)),
      params: {},
      auth: this.#env.auth.credentials(req.headers).kind,
      status: 0,
    };
    this.requests.push(entry);
    if (this.#drop > 0) {
      this.#drop--;
      return "drop";
    }
    if (this.#settings.latencyMs > 0) await this.#timers.sleep(this.#settings.latencyMs);
    const res = this.#process(req, entry);
    entry.status = res.status;
    return res;
  };

  #process(req: HttpRequest, entry: RequestLogEntry): HttpResponse {
    if (!KNOWN_METHODS.has(req.method)) {
      return plain(501, `method '${req.method}' not available`);
    }
    const te = req.headers.get("transfer-encoding");
    if (te) {
      return plain(
        501,
        te.toLowerCase() === "chunked"
          ? "chunked transfer encoding not supported"
          : `Unknown transfer encoding '${te}'`,
      );
    }
    const api = req.path.startsWith("/api2");
    const m = req.path.match(/^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/);
    const relUri = m?.[2] ?? "/";
    let identity: Identity | undefined;
    if (api) {
      if (!m) return plain(501, "no such uri");
      if (needsAuth(req.method, relUri)) {
        try {
          identity = this.#env.auth.authenticate(req.method, req.headers);
        } catch (err) {
          if (!(err instanceof AuthFailure)) throw err;
          return { ...plain(401, err.message), delayMs: this.#settings.authDelayMs };
        }
      }
    }
    const length = Number(req.headers.get("content-length") ?? 0);
    if (length > 0) {
      if (req.method !== "POST" && req.method !== "PUT") {
        return plain(501, `Unexpected content for method '${req.method}'`);
      }
      if (length > MAX_POST) return plain(501, "for data too large");
      const ctype = req.headers.get("content-type");
      const ct = ctype?.split(/\s*[;,]\s*/)[0];
      if (ct && ct !== "application/x-www-form-urlencoded" && ct !== "application/json") {
        return plain(506, `upload 'Content-Type '${ctype}' not implemented`);
      }
    }
    if (!api) return plain(501, `no such file '${req.path}'`);
    if (m![1] !== "json") return plain(501, `no formatter for uri ${relUri}, ${m![1]}`);
    const params = extractParams(req);
    if (params === undefined) return plain(501, "malformed JSON string");
    delete params._dc;
    entry.params = { ...params, ...("password" in params ? { password: "***" } : {}) };
    const result = this.#restHandler(req.method, relUri, params, identity);
    if ("proxyError" in result) return plain(result.status, result.message);
    const res = this.#format(result);
    if (res.status === 401) {
      res.delayMs = Math.max(0, this.#settings.authDelayMs - (performance.now() - req.receivedAt));
    }
    return res;
  }

  /** `rest_handler`: find the method, check permission, proxy, validate, run. */
  #restHandler(
    method: string,
    relUri: string,
    params: Record<string, unknown>,
    identity: Identity | undefined,
  ): Outcome | { proxyError: true; status: number; message: string } {
    const found = findRoute(method, relUri);
    if (!found) return { status: 501, message: `Method '${method} ${relUri}' not implemented` };
    const [route, uriParams] = found;
    try {
      for (const p of Object.keys(params)) {
        if (p in uriParams) {
          throw paramError({ [p]: "duplicate parameter (already defined in URI)" });
        }
      }
      const merged: Record<string, unknown> = { ...uriParams, ...params };
      if (route.permission && identity) {
        const path = route.permission.path.replace(/\{(\w+)\}/g, (_, k) => String(merged[k]));
        if (!identity.can(route.permission.privilege)) {
          throw permError(path, route.permission.privilege);
        }
      }
      if (route.proxyto) {
        const name = String(merged.node);
        const node = this.#env.cluster.nodes.get(name);
        if (!node) {
          throw die(
            `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`,
          );
        }
        if (!node.online) {
          return { proxyError: true, status: node.offlineCode, message: node.offlineReason };
        }
      }
      const call: Call = { params: validate(route.schema, merged), identity };
      const data = route.handler(this.#env, call);
      return { status: 200, message: "OK", data, total: call.total };
    } catch (err) {
      if (err instanceof PveError) {
        return { status: err.code, message: err.message, errors: err.errors };
      }
      return { status: 500, message: `${err instanceof Error ? err.message : err}\n` };
    }
  }

  /** The json formatter (`prepare_response_data`). */
  #format(out: Outcome): HttpResponse {
    const body: Record<string, unknown> = { data: out.status === 200 ? out.data ?? null : null };
    if (out.errors) body.errors = out.errors;
    if (out.status >= 400 && messageInBody(this.#settings.pveVersion)) body.message = out.message;
    if (out.status === 200 && out.total) body.total = out.total;
    return {
      status: out.status,
      message: out.message,
      contentType: JSON_TYPE,
      body: JSON.stringify(body),
    };
  }
}

interface Outcome {
  status: number;
  message: string;
  data?: unknown;
  errors?: Record<string, string>;
  total?: number;
}

/** A response of the HTTP layer itself: no body, no Content-Type. */
function plain(status: number, message: string): HttpResponse {
  return { status, message };
}

/** `GET /access/domains` and `GET|POST /access/ticket` need no credentials. */
function needsAuth(method: string, relUri: string): boolean {
  if (relUri === "/access/domains" && method === "GET") return false;
  if (relUri === "/access/ticket" && (method === "GET" || method === "POST")) return false;
  return true;
}

/** pve-http-server 5.2.0 (PVE 8.4) added `message` to the json error body. */
function messageInBody(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major > 8 || (major === 8 && minor >= 4);
}

function findRoute(method: string, relUri: string): [Route, Record<string, string>] | undefined {
  const parts = relUri.split("/").filter((p) => p !== "");
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const pattern = route.path.split("/").filter((p) => p !== "");
    if (pattern.length !== parts.length) continue;
    const uriParams: Record<string, string> = {};
    const ok = pattern.every((seg, i) => {
      const name = seg.match(/^\{(\w+)\}$/)?.[1];
      if (name) uriParams[name] = parts[i];
      return name !== undefined || seg === parts[i];
    });
    if (ok) return [route, uriParams];
  }
  return undefined;
}

/** `extract_params`: the form or JSON body, then the query on top; undefined for bad JSON. */
function extractParams(req: HttpRequest): Record<string, unknown> | undefined {
  let params: Record<string, unknown> = {};
  if (req.method === "POST" || req.method === "PUT") {
    const ct = req.headers.get("content-type")?.split(/\s*[;,]\s*/)[0];
    const text = new TextDecoder().decode(req.body);
    if (ct === "application/json") {
      try {
        params = JSON.parse(text);
      } catch {
        return undefined;
      }
      if (typeof params !== "object" || params === null || Array.isArray(params)) return undefined;
    } else {
      params = decodeUrlencoded(text);
    }
  }
  return { ...params, ...decodeUrlencoded(req.query) };
}

/** `decode_urlencoded`: `&` or `;` separated, `+` is a space, repeated keys joined with NUL. */
function decodeUrlencoded(data: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (!data) return out;
  for (const kv of data.split(/[&;]/)) {
    const eq = kv.indexOf("=");
    const k = unescape(eq < 0 ? kv : kv.slice(0, eq));
    if (eq < 0) {
      out[k] = undefined;
      continue;
    }
    const v = unescape(kv.slice(eq + 1));
    const old = out[k];
    out[k] = old === undefined ? v : `${old}\0${v}`;
  }
  return out;
}

function unescape(s: string): string {
  const plus = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/**
 * Serializing a request head and body into the bytes sent on the wire, with
 * the checks that keep a caller's strings from injecting extra requests.
 *
 * @module
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
// Origin-form: "/" then visible ASCII only (no spaces, controls or raw non-ASCII).
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
const SET_BY_CLIENT = new Set(["content-length", "transfer-encoding"]);

const encoder = new TextEncoder();

/** What {@linkcode serializeRequest} needs. */
export interface RequestParts {
  /** The method, such as `GET`. */
  method: string;
  /** The origin-form target, already percent-encoded. */
  path: string;
  /** The value of the `Host` header unless `headers` has one. */
  host: string;
  /** Extra header fields. */
  headers?: Record<string, string>;
  /** The body, sent with `Content-Length`. */
  body?: string | Uint8Array;
}

/**
 * Builds the bytes of a whole HTTP/1.1 request: request line, `Host`, the
 * caller's headers, `Content-Length` when there is a body (and `0` for a
 * bodiless POST or PUT), the blank line and the body.
 *
 * @param parts The request.
 * @returns The bytes to write.
 * @throws {TypeError} When the method or a header name is not a token, a
 * header value contains CR, LF or NUL, the path is not origin-form, or the
 * caller sets `Content-Length` or `Transfer-Encoding` itself.
 */
export function serializeRequest(parts: RequestParts): Uint8Array {
  const { method, path, headers = {} } = parts;
  if (!TOKEN.test(method)) throw new TypeError(`Invalid HTTP method "${method}"`);
  if (!ORIGIN_FORM.test(path)) {
    throw new TypeError(
      `Invalid request path ${
        JSON.stringify(path)
      }: expected "/..." without spaces or control characters`,
    );
  }
  let fields = "";
  let hasHost = false;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`);
    if (FORBIDDEN_IN_VALUE.test(value)) {
      throw new TypeError(`Invalid value for header "${name}": contains CR, LF or NUL`);
    }
    const lower = name.toLowerCase();
    if (SET_BY_CLIENT.has(lower)) {
      throw new TypeError(`Header "${name}" is set by the HTTP client and cannot be given`);
    }
    if (lower === "host") hasHost = true;
    fields += `${name}: ${value}\r\n`;
  }
  if (!hasHost && FORBIDDEN_IN_VALUE.test(parts.host)) {
    throw new TypeError("Invalid Host: contains CR, LF or NUL");
  }
  let head = `${method} ${path} HTTP/1.1\r\n${hasHost ? "" : `Host: ${parts.host}\r\n`}${fields}`;
  const body = typeof parts.body === "string" ? encoder.encode(parts.body) : parts.body;
  if (body !== undefined) head += `Content-Length: ${body.byteLength}\r\n`;
  else if (method === "POST" || method === "PUT") head += "Content-Length: 0\r\n";
  head += "\r\n";
  if (body === undefined || body.byteLength === 0) return encoder.encode(head);
  const headBytes = encoder.encode(head);
  const bytes = new Uint8Array(headBytes.byteLength + body.byteLength);
  bytes.set(headBytes);
  bytes.set(body, headBytes.byteLength);
  return bytes;
}

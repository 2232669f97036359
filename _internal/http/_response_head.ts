/**
 * Reading and parsing a response head: the status line and the header
 * fields, up to the blank line.
 *
 * @module
 */

import type { Connection } from "./_connection.ts";

/** The largest response head accepted, in bytes. */
export const MAX_HEAD_SIZE = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const STATUS_LINE = /^HTTP\/1\.(\d) ([1-9]\d\d)(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A parsed status line and header section. */
export interface ResponseHead {
  /** The minor HTTP version: `1` for HTTP/1.1, `0` for HTTP/1.0. */
  minorVersion: number;
  /** The status code. */
  status: number;
  /** The reason phrase exactly as sent (may be empty). */
  statusText: string;
  /** The header fields; repeated fields are appended. */
  headers: Headers;
}

/**
 * Reads the next response head from `connection` and consumes its bytes.
 *
 * @param connection Where to read from.
 * @returns The parsed head.
 * @throws {Deno.errors.InvalidData} When the head is malformed or larger than
 * {@linkcode MAX_HEAD_SIZE}.
 * @throws {Deno.errors.UnexpectedEof} When the stream ends before the blank line.
 */
export async function readResponseHead(connection: Connection): Promise<ResponseHead> {
  // How far past `start` the bytes were already searched for the blank line.
  let searched = 0;
  while (true) {
    const headEnd = findHeadEnd(connection.buffer, connection.start + searched, connection.end);
    if (headEnd !== -1) {
      const bytes = connection.buffer.subarray(connection.start, headEnd);
      if (bytes.byteLength > MAX_HEAD_SIZE) throw headTooLarge();
      connection.start = headEnd;
      return parseResponseHead(bytes);
    }
    const buffered = connection.end - connection.start;
    if (buffered > MAX_HEAD_SIZE) throw headTooLarge();
    // The last two bytes may begin a blank line that the next read completes.
    searched = Math.max(0, buffered - 2);
    if (!await connection.fill()) {
      throw new Deno.errors.UnexpectedEof(
        buffered === 0
          ? "The connection closed before the response arrived"
          : "The connection closed in the middle of the response head",
      );
    }
  }
}

function headTooLarge(): Error {
  return new Deno.errors.InvalidData(`The response head is larger than ${MAX_HEAD_SIZE} bytes`);
}

/**
 * Finds the blank line that ends a head: CRLF CRLF, or bare LF LF.
 *
 * @param buffer The bytes.
 * @param from Where to start looking.
 * @param to Where the bytes end.
 * @returns The index just past the blank line, or -1.
 */
export function findHeadEnd(buffer: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buffer[i] !== LF) continue;
    if (i + 1 < to && buffer[i + 1] === LF) return i + 2;
    if (i + 2 < to && buffer[i + 1] === CR && buffer[i + 2] === LF) return i + 3;
  }
  return -1;
}

/**
 * Parses a complete head (status line, fields, blank line). The status line is
 * decoded as UTF-8, or byte by byte if it is not valid UTF-8; the fields byte
 * by byte, as `Headers` expects.
 *
 * @param bytes The head, including its blank line.
 * @returns The parsed head.
 * @throws {Deno.errors.InvalidData} When the status line or a field is malformed.
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead {
  const lines = headLines(bytes);
  const statusLine = lines[0] ?? "";
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) {
    throw new Deno.errors.InvalidData(
      `Malformed status line ${JSON.stringify(statusLine.slice(0, 100))}`,
    );
  }
  const headers = new Headers();
  let name: string | undefined;
  let value = "";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith(" ") || line.startsWith("\t")) {
      // An obsolete line folding continues the previous value.
      if (name === undefined) throw malformedField(line);
      value += " " + line.trim();
      continue;
    }
    if (name !== undefined) appendField(headers, name, value);
    const colon = line.indexOf(":");
    name = line.slice(0, colon);
    if (colon === -1 || !TOKEN.test(name)) throw malformedField(line);
    value = line.slice(colon + 1).trim();
  }
  if (name !== undefined) appendField(headers, name, value);
  return {
    minorVersion: Number(match[1]),
    status: Number(match[2]),
    statusText: match[3] ?? "",
    headers,
  };
}

/**
 * Decodes a head into its lines: the status line as UTF-8 (or byte by byte),
 * the fields byte by byte. A head of ASCII only, the usual case, reads the
 * same either way and is decoded in one native call.
 */
function headLines(bytes: Uint8Array): string[] {
  const ascii = decodeAscii(bytes);
  if (ascii !== undefined) return splitLines(ascii);
  const lines = splitLines(decodeLatin1(bytes));
  // Latin-1 gives one character per byte: the status line is the first `length` bytes.
  if (lines.length > 0) lines[0] = decodeUtf8OrLatin1(bytes.subarray(0, lines[0].length));
  return lines;
}

/** The bytes as text when they are all ASCII, otherwise `undefined`. */
function decodeAscii(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  // Valid UTF-8 with one character per byte has no byte above 0x7f.
  return text.length === bytes.byteLength ? text : undefined;
}

function appendField(headers: Headers, name: string, value: string): void {
  try {
    headers.append(name, value);
  } catch {
    throw malformedField(`${name}: ${value}`);
  }
}

function malformedField(line: string): Error {
  return new Deno.errors.InvalidData(
    `Malformed response header ${JSON.stringify(line.slice(0, 100))}`,
  );
}

/** Splits a head into its lines without line endings, dropping the final blank line. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", lineStart)) {
    const lineEnd = i > lineStart && text.charCodeAt(i - 1) === CR ? i - 1 : i;
    if (lineEnd === lineStart && lines.length > 0) break;
    lines.push(text.slice(lineStart, lineEnd));
    lineStart = i + 1;
  }
  return lines;
}

function decodeUtf8OrLatin1(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeLatin1(bytes);
  }
}

/**
 * Decodes each byte as the character with that code (ISO-8859-1).
 *
 * @param bytes The bytes.
 * @returns The string, one character per byte.
 */
export function decodeLatin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.byteLength; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

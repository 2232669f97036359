/** A stand-in for a socket that returns scripted pieces, one per read, for deterministic framing tests. */

import { Connection } from "../../_internal/http/_connection.ts";

const encoder = new TextEncoder();

/**
 * Makes a {@linkcode Connection} whose reads return `pieces` one by one
 * (cut to the read buffer's size), then the end of the stream.
 */
export function scriptedConnection(pieces: (string | Uint8Array)[]): Connection {
  const queue = pieces.map((piece) => typeof piece === "string" ? encoder.encode(piece) : piece);
  const conn = {
    read(buffer: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      if (next.byteLength > buffer.byteLength) queue.unshift(next.subarray(buffer.byteLength));
      const n = Math.min(next.byteLength, buffer.byteLength);
      buffer.set(next.subarray(0, n));
      return Promise.resolve(n);
    },
    close() {},
    ref() {},
    unref() {},
  };
  return new Connection(conn as unknown as Deno.Conn);
}

/** Splits `text` into pieces at the given offsets. */
export function splitAt(text: string, ...offsets: number[]): string[] {
  const pieces = [];
  let start = 0;
  for (const offset of [...offsets, text.length]) {
    pieces.push(text.slice(start, offset));
    start = offset;
  }
  return pieces;
}

/**
 * Sessions on disk: one JSON file in the state directory, replaced whole by
 * an atomic rename after an fsync, so that a crash (even `kill -9`) leaves
 * either the old file or the new one.
 *
 * Each saved session end is a lease a little past the real end, so that a
 * request that only moves the end forward inside the lease writes nothing:
 * the ready path stays free of disk writes, and a restart never stops an
 * instance before its session ends. The slack is a tenth of the session,
 * at most 30 s; an idle instance is stopped at most that late after a crash.
 *
 * The file may be corrupted or edited by hand: a file that cannot be read
 * never stops the server from starting. It is moved aside (never
 * overwritten) as `sessions.json.<time>.bad`, the server starts with no
 * saved sessions, and one warning says so.
 *
 * @module
 */

import { isObject, shortJson } from "../_internal/json.ts";
import { messageOf } from "../_internal/message.ts";

const FILE_NAME = "sessions.json";
const MAX_SLACK_MS = 30_000;
/** The largest state file read (a session takes about 100 bytes). */
const MAX_FILE_BYTES = 8 << 20;

/** One saved session. */
export interface SavedSession {
  /** The instance's name, for people reading the file. */
  name: string;
  /** When the session ends at the latest, in ms since the epoch. */
  until: number;
}

/** The file's content. */
interface StateFile {
  version: 1;
  sessions: Record<string, SavedSession>;
}

/** Where a {@linkcode SessionStore} reports. */
export interface SessionStoreReports {
  /** Receives a failed write (the next change writes again). */
  onWriteError(error: unknown): void;
  /** Receives one line about a state file that could not be read, or only in part. */
  warn(message: string): void;
}

/** Sessions kept in a directory; without a directory, nothing is written. */
export class SessionStore {
  readonly #dir: string | undefined;
  #sessions = new Map<string, SavedSession>();
  #writing: Promise<void> | undefined;
  #dirty = false;
  #reports: SessionStoreReports;

  /**
   * Creates a store.
   *
   * @param dir The state directory; `undefined` keeps sessions in memory only.
   * @param reports Receives failed writes, and a warning about a bad state file.
   */
  constructor(dir: string | undefined, reports: SessionStoreReports) {
    this.#dir = dir;
    this.#reports = reports;
  }

  /**
   * Reads the saved sessions. A missing file is no session. A file that
   * cannot be read (not JSON, not the expected shape, too large, unreadable)
   * is moved aside to `sessions.json.<time>.bad` and the server starts with
   * no sessions; a file with some entries that are not sessions keeps the
   * others, and a copy of it is kept the same way. Either way, one warning.
   *
   * @returns The sessions by instance key.
   * @throws {Deno.errors.PermissionDenied} When the directory cannot be created.
   */
  async load(): Promise<Map<string, SavedSession>> {
    if (this.#dir === undefined) return new Map();
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      const { size } = await Deno.stat(this.#path);
      if (size > MAX_FILE_BYTES) {
        throw new RangeError(`it has ${size} bytes, more than ${MAX_FILE_BYTES}`);
      }
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return new Map();
      await this.#setAside(messageOf(error), "move");
      return new Map();
    }
    const read = readStateFile(text);
    if (typeof read === "string") {
      await this.#setAside(read, "move");
      return new Map();
    }
    for (const [key, session] of read.sessions) this.#sessions.set(key, session);
    if (read.ignored > 0) {
      await this.#setAside(
        `${read.ignored} of its entries are not sessions ({"name": text, "until": ms}); ` +
          `${read.sessions.size} kept`,
        "copy",
      );
    }
    return new Map(this.#sessions);
  }

  /**
   * Records that `key`'s session lasts until `until`. Writes (and resolves
   * after the write) only when `until` passes the saved lease.
   *
   * @param key The instance key.
   * @param session The name and the end of the session.
   * @param now The current time, in ms since the epoch.
   * @returns `undefined` when nothing needed writing, else the write.
   */
  extend(key: string, session: SavedSession, now: number): Promise<void> | undefined {
    const saved = this.#sessions.get(key);
    if (saved !== undefined && saved.until >= session.until) return undefined;
    const slack = Math.min(MAX_SLACK_MS, Math.max(0, (session.until - now) / 10));
    this.#sessions.set(key, { name: session.name, until: Math.ceil(session.until + slack) });
    return this.#write();
  }

  /** Forgets `key`'s session (it ended, or the instance is gone). */
  remove(key: string): void {
    if (this.#sessions.delete(key)) this.#write().catch(() => {});
  }

  /** Waits for the writes in progress; resolves when the file holds every change. */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing.catch(() => {});
  }

  get #path(): string {
    return `${this.#dir}/${FILE_NAME}`;
  }

  /**
   * Keeps a bad state file as `sessions.json.<time>.bad` (moved, or copied
   * when some of it was used) and says so in one warning.
   */
  async #setAside(problem: string, how: "move" | "copy"): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const aside = `${this.#path}.${stamp}.bad`;
    let kept: string;
    try {
      if (how === "move") await Deno.rename(this.#path, aside);
      else await Deno.copyFile(this.#path, aside);
      kept = `the file is kept as ${aside}`;
    } catch (error) {
      kept = `it cannot be kept aside (${messageOf(error)})`;
    }
    const start = how === "move" ? "starting with no saved sessions" : "starting with the others";
    this.#reports.warn(
      `Cannot read the saved sessions in ${this.#path}: ${problem}; ${start}; ${kept}`,
    );
  }

  /** Writes the file, once at a time; changes made during a write cause one more. */
  #write(): Promise<void> {
    if (this.#dir === undefined) return Promise.resolve();
    this.#dirty = true;
    if (this.#writing !== undefined) return this.#writing; // Its loop sees the new change.
    const writing = (async () => {
      try {
        while (this.#dirty) {
          this.#dirty = false;
          await this.#writeOnce();
        }
      } catch (error) {
        this.#reports.onWriteError(error);
        throw error;
      } finally {
        this.#writing = undefined;
      }
    })();
    this.#writing = writing;
    return writing;
  }

  async #writeOnce(): Promise<void> {
    const file: StateFile = { version: 1, sessions: Object.fromEntries(this.#sessions) };
    const temporary = `${this.#path}.${crypto.randomUUID()}.tmp`;
    try {
      using handle = await Deno.open(temporary, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      const bytes = new TextEncoder().encode(JSON.stringify(file));
      let written = 0;
      while (written < bytes.length) written += await handle.write(bytes.subarray(written));
      await handle.sync();
      await Deno.rename(temporary, this.#path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
  }
}

/**
 * Reads the state file's text.
 *
 * @returns The sessions and the number of entries ignored, or why the whole file is unusable.
 */
function readStateFile(
  text: string,
): { sessions: Map<string, SavedSession>; ignored: number } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `it is not JSON (${messageOf(error)})`;
  }
  if (!isObject(parsed) || parsed.version !== 1 || !isObject(parsed.sessions)) {
    return `it is not {"version": 1, "sessions": {...}}: ${shortJson(parsed)}`;
  }
  const sessions = new Map<string, SavedSession>();
  let ignored = 0;
  for (const [key, value] of Object.entries(parsed.sessions)) {
    if (
      key !== "" && isObject(value) && typeof value.name === "string" &&
      typeof value.until === "number" && Number.isFinite(value.until)
    ) {
      sessions.set(key, { name: value.name, until: value.until });
    } else {
      ignored++;
    }
  }
  return { sessions, ignored };
}

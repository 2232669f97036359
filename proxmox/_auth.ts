/**
 * The two ways to authenticate to PVE. An API token is one header. A ticket
 * comes from a login (`POST /access/ticket`), lasts two hours, and is renewed
 * before it ends by logging in with the ticket itself as the password; writes
 * also carry the ticket's CSRF token.
 *
 * Credentials live only in `#private` fields: `Deno.inspect` and
 * `JSON.stringify` never show them.
 *
 * @module
 */

import { raceSignal } from "../_internal/abort.ts";
import { registerSecret } from "../_internal/secrets.ts";
import { ApiError } from "../errors.ts";

/** What a login answers (`data` of `POST /access/ticket`). */
export interface Ticket {
  ticket: string;
  CSRFPreventionToken: string;
  username: string;
}

/** Logs in; `password` may be a valid ticket (renewal). */
export type Login = (userid: string, password: string, signal: AbortSignal) => Promise<Ticket>;

/** The headers for one request, and a handle to report a 401 with. */
export interface Authorization {
  headers: Record<string, string>;
  /** Reports that PVE answered 401 to these headers. Returns whether to try once more. */
  rejected(): boolean;
}

/** Authenticates requests. */
export interface Auth {
  /** Headers for a request with `method`; may log in first. */
  authorize(method: string, signal: AbortSignal): Promise<Authorization>;
}

/** `Authorization: PVEAPIToken=<tokenId>=<secret>`; no login, no CSRF token. */
export class TokenAuth implements Auth {
  #header: string;

  constructor(tokenId: string, secret: string) {
    this.#header = `PVEAPIToken=${tokenId}=${secret}`;
    registerSecret(secret);
  }

  authorize(): Promise<Authorization> {
    return Promise.resolve({
      headers: { authorization: this.#header },
      rejected: () => false,
    });
  }
}

/** When a ticket is renewed, and when it is taken as expired. */
export interface TicketTimes {
  /** Renew a ticket this old (ms). PVE's tickets last 2 hours.
   * @default {3_600_000} */
  renewAfterMs?: number;
  /** Log in again, with the password, once a ticket is this old (ms).
   * @default {6_900_000} (115 min: 2 h less a margin for clock skew) */
  expireAfterMs?: number;
}

interface Session {
  ticket: string;
  csrf: string;
  /** The user id PVE answered with (renewals log in as it). */
  userid: string;
  obtainedAt: number;
}

/**
 * Ticket authentication. Logs in before the first request, renews the ticket
 * once it is an hour old, and logs in again after a 401 (once per request).
 * Concurrent requests share one login.
 */
export class TicketAuth implements Auth {
  #userid: string;
  #password: string;
  #login: Login;
  #renewAfterMs: number;
  #expireAfterMs: number;
  #session: Session | undefined;
  #pending: Promise<Session> | undefined;
  #signal: AbortSignal;

  /**
   * @param login Sends the login request.
   * @param signal Aborts logins (the client's close); a caller's own signal only stops its wait.
   */
  constructor(
    userid: string,
    password: string,
    login: Login,
    options: TicketTimes & { signal: AbortSignal },
  ) {
    this.#userid = userid;
    this.#password = password;
    registerSecret(password);
    this.#login = login;
    this.#renewAfterMs = options.renewAfterMs ?? 3_600_000;
    this.#expireAfterMs = options.expireAfterMs ?? 6_900_000;
    this.#signal = options.signal;
  }

  async authorize(method: string, signal: AbortSignal): Promise<Authorization> {
    const session = await raceSignal(this.#current(), signal);
    const headers: Record<string, string> = { cookie: `PVEAuthCookie=${session.ticket}` };
    if (method !== "GET") headers.csrfpreventiontoken = session.csrf;
    return {
      headers,
      rejected: () => {
        // Unless someone logged in since, drop the ticket: the retry logs in.
        if (this.#session === session) this.#session = undefined;
        return true;
      },
    };
  }

  #current(): Promise<Session> {
    if (this.#pending) return this.#pending;
    const session = this.#session;
    const age = session ? performance.now() - session.obtainedAt : Infinity;
    if (session && age < this.#renewAfterMs) return Promise.resolve(session);
    const next = session && age < this.#expireAfterMs
      ? this.#renew(session)
      : this.#start(this.#userid, this.#password);
    this.#pending = next.finally(() => this.#pending = undefined);
    return this.#pending;
  }

  async #renew(session: Session): Promise<Session> {
    try {
      return await this.#start(session.userid, session.ticket);
    } catch (error) {
      if (this.#signal.aborted) throw error;
      // A ticket PVE no longer takes (401): log in afresh. Any other failure:
      // keep the ticket, still valid for a while; the next request renews again.
      if (error instanceof ApiError && error.status === 401) {
        return await this.#start(this.#userid, this.#password);
      }
      return session;
    }
  }

  async #start(userid: string, password: string): Promise<Session> {
    const obtainedAt = performance.now();
    const answer = await this.#login(userid, password, this.#signal);
    registerSecret(answer.ticket, { rotating: true });
    registerSecret(answer.CSRFPreventionToken, { rotating: true });
    this.#session = {
      ticket: answer.ticket,
      csrf: answer.CSRFPreventionToken,
      // PVE answers the user id as text; anything else (a server's odd answer) is not used.
      userid: typeof answer.username === "string" && answer.username !== ""
        ? answer.username
        : userid,
      obtainedAt,
    };
    return this.#session;
  }
}

/**
 * Users, API tokens, tickets and CSRF tokens, checked as pve-manager's
 * `auth_handler` and pve-access-control check them. Signatures are HMACs (PVE
 * signs tickets with RSA); only the shape of the strings matters to clients.
 *
 * @module
 */

import { createHmac, randomBytes } from "node:crypto";
import { PveError } from "./_errors.ts";

/** Which credential a request carried. */
export type AuthKind = "token" | "ticket" | "none";

/** The authenticated caller. */
export interface Identity {
  /** `user@realm`, or `user@realm!tokenid` for a token. */
  authid: string;
  kind: AuthKind;
  /** Whether the caller holds `privilege` (on every path: the fake has no ACL tree). */
  can(privilege: string): boolean;
}

/** A failed authentication: 401 with an empty body, the message as reason phrase. */
export class AuthFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthFailure";
  }
}

/** The reply of `POST /access/ticket`. */
export interface TicketReply {
  username: string;
  ticket: string;
  CSRFPreventionToken: string;
  cap: Record<string, Record<string, number>>;
}

interface Principal {
  secret: string;
  privileges?: ReadonlySet<string>;
}

const GRACE_SEC = 300;

/** Privileges that map to each `cap` section of the ticket reply. */
const CAP_SECTIONS: Record<string, string> = {
  VM: "vms",
  Datastore: "storage",
  Sys: "nodes",
  User: "access",
  Group: "access",
  Permissions: "access",
  Realm: "access",
  SDN: "sdn",
  Mapping: "mapping",
  Pool: "dc",
};

/** Credentials and their checks. */
export class AuthStore {
  /** Tickets (and CSRF tokens) older than this are rejected. */
  ticketLifetimeSec: number;
  #users = new Map<string, Principal>();
  #tokens = new Map<string, Principal>();
  #ticketKey = randomBytes(32);
  #csrfKey = randomBytes(32);

  constructor(ticketLifetimeSec: number) {
    this.ticketLifetimeSec = ticketLifetimeSec;
  }

  /** Replaces the signing keys: every ticket and CSRF token issued so far stops working. */
  rotateKeys(): void {
    this.#ticketKey = randomBytes(32);
    this.#csrfKey = randomBytes(32);
  }

  addUser(userid: string, password: string, privileges?: readonly string[]): void {
    this.#users.set(userid, { secret: password, privileges: toSet(privileges) });
  }

  addToken(tokenid: string, secret: string, privileges?: readonly string[]): void {
    if (!splitTokenId(tokenid)) throw new TypeError(`Invalid token id "${tokenid}"`);
    this.#tokens.set(tokenid, { secret, privileges: toSet(privileges) });
  }

  removeToken(tokenid: string): void {
    this.#tokens.delete(tokenid);
  }

  /** The credential a request presents, in pveproxy's order: cookie, ticket header, token header. */
  credentials(headers: Map<string, string>): { kind: AuthKind; value?: string } {
    const auth = headers.get("authorization");
    const ticket = extractAuthValue(headers.get("cookie"), "PVEAuthCookie") ??
      extractAuthValue(auth, "PVEAuthCookie");
    if (ticket) return { kind: "ticket", value: ticket };
    const token = extractAuthValue(auth, "PVEAPIToken");
    if (token) return { kind: "token", value: token };
    return { kind: "none" };
  }

  /**
   * `auth_handler`: checks the credential and, for ticket auth on non-GET
   * requests, the `CSRFPreventionToken` header.
   * @throws {AuthFailure} `No ticket`, `Authentication failed!`, or the CSRF failure.
   */
  authenticate(method: string, headers: Map<string, string>): Identity {
    const cred = this.credentials(headers);
    if (cred.kind === "token") return this.#verifyApiToken(cred.value!);
    if (cred.kind === "none") throw new AuthFailure("No ticket\n");
    const userid = this.verifyTicket(cred.value!);
    if (!userid) throw new AuthFailure("Authentication failed!\n");
    if (method !== "GET" && !this.#verifyCsrf(userid, headers.get("csrfpreventiontoken"))) {
      throw new AuthFailure("Permission denied - invalid csrf token\n");
    }
    return this.#identity(userid, "ticket", this.#users.get(userid)?.privileges);
  }

  /**
   * `POST /access/ticket`: a password or a still valid ticket (renewal) buys a new ticket.
   * @throws {PveError} 401 `authentication failure`.
   */
  login(username: string, password: string, realm?: string): TicketReply {
    const userid = realm ? `${username}@${realm}` : username;
    const ticketUser = password.startsWith("PVE:") ? this.verifyTicket(password) : undefined;
    const renewal = ticketUser !== undefined &&
      (ticketUser === userid || ticketUser === "root@pam");
    const user = this.#users.get(userid);
    if (!user || !(renewal || user.secret === password)) {
      throw new PveError(401, "authentication failure\n");
    }
    const ts = hexTime();
    const plain = `PVE:${userid}:${ts}`;
    return {
      username: userid,
      ticket: `${plain}::${sign(this.#ticketKey, plain, true)}`,
      CSRFPreventionToken: `${ts}:${sign(this.#csrfKey, `${ts}:${userid}`, false)}`,
      cap: capabilities(userid === "root@pam" ? undefined : user.privileges),
    };
  }

  /** The user id of a valid, unexpired ticket. */
  verifyTicket(ticket: string): string | undefined {
    const cut = ticket.lastIndexOf("::");
    if (cut < 0) return undefined;
    const plain = ticket.slice(0, cut);
    const m = plain.match(/^PVE:(\S+):([A-Z0-9]{8})$/);
    if (!m || !this.#fresh(m[2])) return undefined;
    if (sign(this.#ticketKey, plain, true) !== ticket.slice(cut + 2)) return undefined;
    return m[1];
  }

  #verifyCsrf(userid: string, token: string | undefined): boolean {
    const m = token?.match(/^([A-Z0-9]{8}):(\S+)$/);
    if (!m || !this.#fresh(m[1])) return false;
    return sign(this.#csrfKey, `${m[1]}:${userid}`, false) === m[2];
  }

  #verifyApiToken(value: string): Identity {
    const m = value.match(/^(.*)=(.*)$/);
    const token = m ? this.#tokens.get(m[1]) : undefined;
    if (!m || !token || token.secret !== m[2]) throw new AuthFailure("Authentication failed!\n");
    return this.#identity(m[1], "token", token.privileges);
  }

  #identity(authid: string, kind: AuthKind, privileges?: ReadonlySet<string>): Identity {
    const all = authid === "root@pam" || privileges === undefined;
    return { authid, kind, can: (p) => all || privileges.has(p) };
  }

  #fresh(hexTs: string): boolean {
    const age = Math.floor(Date.now() / 1000) - parseInt(hexTs, 16);
    return age > -GRACE_SEC && age < this.ticketLifetimeSec;
  }
}

/** `user@realm!tokenid` split into user and token name, as `split_tokenid` does. */
export function splitTokenId(tokenid: string): [string, string] | undefined {
  const m = tokenid.match(/^(.+@[^!@]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/);
  return m ? [m[1], m[2]] : undefined;
}

/** `extract_auth_value`: `(?:^|\s)NAME(?:=| )([^;]*)`, URI-unescaped. */
function extractAuthValue(header: string | undefined, name: string): string | undefined {
  const m = header?.match(new RegExp(`(?:^|\\s)${name}(?:=| )([^;]*)`));
  if (!m || m[1] === "") return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

function capabilities(privileges?: ReadonlySet<string>): Record<string, Record<string, number>> {
  const cap: Record<string, Record<string, number>> = {
    vms: {},
    storage: {},
    access: {},
    nodes: {},
    dc: {},
    sdn: {},
    mapping: {},
  };
  const privs = privileges ?? ["VM.Audit", "VM.PowerMgmt", "Sys.Audit", "Sys.Modify"];
  for (const p of privs) {
    const section = CAP_SECTIONS[p.split(".")[0]];
    if (section) cap[section][p] = 1;
  }
  return cap;
}

function toSet(privileges?: readonly string[]): ReadonlySet<string> | undefined {
  return privileges ? new Set(privileges) : undefined;
}

function hexTime(): string {
  return Math.floor(Date.now() / 1000).toString(16).toUpperCase().padStart(8, "0");
}

/** HMAC-SHA256 in base64: padded like `encode_base64` (tickets), unpadded like `hmac_sha256_base64` (CSRF). */
function sign(key: Uint8Array, data: string, padded: boolean): string {
  const b64 = createHmac("sha256", key).update(data).digest("base64");
  return padded ? b64 : b64.replace(/=+$/, "");
}

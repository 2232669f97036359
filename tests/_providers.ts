/**
 * One container on each runtime's fake, behind the same interface, for the
 * tests that hold every provider to the same contract: a Docker provider on
 * the fake engine, Proxmox providers of an LXC container and of a QEMU VM on
 * the fake PVE.
 *
 * @module
 */

import { newDockerProvider } from "../docker/mod.ts";
import type { Runtime } from "../errors.ts";
import type { Provider } from "../provider.ts";
import { newProxmoxProvider, ProxmoxClient } from "../proxmox/mod.ts";
import { RecordingLogger } from "./docker/_containers.ts";
import { startFakeEngine } from "./_fakes/docker_engine.ts";
import type { FakePve } from "./_fakes/pve/mod.ts";
import { requestLines, setup, TOKEN_ID } from "./proxmox/_setup.ts";

/** A provider of one container on a fake runtime; dispose it to stop both. */
export interface ProviderFixture extends AsyncDisposable {
  /** The runtime it fakes. */
  runtime: Runtime;
  /** The provider, with {@linkcode ProviderFixture.logger}. */
  provider: Provider;
  /** What the provider logged since the fixture was ready. */
  logger: RecordingLogger;
  /** The container as errors and log lines name it. */
  container: string;
  /** The requests the runtime received since the fixture was ready. */
  requests(): string[];
  /** Deletes the container. */
  remove(): void;
  /** Makes the runtime fail the next start. */
  failNextStart(): void;
  /** Makes the runtime refuse every request from now on. */
  refuseAll(): void;
}

/** The fixtures, by name, for `t.step`s. */
export const FIXTURES: readonly [string, () => Promise<ProviderFixture>][] = [
  ["Docker", dockerFixture],
  ["Proxmox CT", proxmoxFixture],
  ["Proxmox VM", proxmoxVmFixture],
];

/** Container "web" on a fake Docker engine. */
export async function dockerFixture(): Promise<ProviderFixture> {
  let missing = false;
  let failStart = false;
  let refuse = false;
  const engine = await startFakeEngine({
    route(request, target) {
      if (refuse) return Response.json({ message: "forbidden by policy" }, { status: 403 });
      if (missing && target.includes("/containers/web/")) {
        return Response.json({ message: "No such container: web" }, { status: 404 });
      }
      if (failStart && request.method === "POST" && target.endsWith("/containers/web/start")) {
        failStart = false;
        return Response.json({ message: "OCI runtime create failed" }, { status: 500 });
      }
    },
  });
  const logger = new RecordingLogger();
  const provider = newDockerProvider({ socketPath: engine.path, logger }, "web");
  return {
    runtime: "docker",
    provider,
    logger,
    container: "web",
    requests: () => engine.requests.map((r) => `${r.method} ${r.target}`),
    remove() {
      missing = true;
    },
    failNextStart() {
      failStart = true;
    },
    refuseAll() {
      refuse = true;
    },
    async [Symbol.asyncDispose]() {
      provider.close();
      await engine[Symbol.asyncDispose]();
    },
  };
}

/** CT 101 on node "pve" of a fake PVE. */
export function proxmoxFixture(): Promise<ProviderFixture> {
  return pveGuestFixture(101, {
    add: (fake) => fake.addCt("pve", 101, { name: "web" }),
    remove: (fake) => fake.removeCt(101),
    failNextStart: (fake) => fake.failNextTask("start", "startup for container '101' failed"),
  });
}

/** VM 100 on node "pve" of a fake PVE, its kind found in the cluster. */
export function proxmoxVmFixture(): Promise<ProviderFixture> {
  return pveGuestFixture(100, {
    add: (fake) => fake.addVm("pve", 100, { name: "web" }),
    remove: (fake) => fake.removeVm(100),
    failNextStart: (fake) => fake.failNextVmTask("start", "start failed: QEMU exited with code 1"),
  });
}

/** How a fixture's guest is made, deleted and made to fail its next start on the fake PVE. */
interface PveGuest {
  add(fake: FakePve): void;
  remove(fake: FakePve): void;
  failNextStart(fake: FakePve): void;
}

/** A provider of guest `vmid` on node "pve" of a fake PVE. */
async function pveGuestFixture(vmid: number, guest: PveGuest): Promise<ProviderFixture> {
  const s = await setup();
  guest.add(s.fake);
  const logger = new RecordingLogger();
  const client = new ProxmoxClient({ ...s.config, logger });
  const provider = await newProxmoxProvider("pve", vmid, { client });
  s.fake.resetRequests();
  logger.lines.length = 0;
  return {
    runtime: "proxmox",
    provider,
    logger,
    container: String(vmid),
    requests: () => requestLines(s.fake),
    remove: () => guest.remove(s.fake),
    failNextStart: () => guest.failNextStart(s.fake),
    refuseAll: () => s.fake.removeToken(TOKEN_ID),
    async [Symbol.asyncDispose]() {
      provider.close();
      client.close();
      await s[Symbol.asyncDispose]();
    },
  };
}

import assert from "node:assert/strict";
import { Action, ContainerStatus, EventType } from "../../proxmox/mod.ts";

Deno.test("proxmox/mod.ts exports Action, EventType and ContainerStatus as values", () => {
  assert.equal(Action.ForceReload, "force-reloaded");
  assert.equal(EventType.Proxmox, "proxmox");
  assert.equal(ContainerStatus.Paused, "paused");
});

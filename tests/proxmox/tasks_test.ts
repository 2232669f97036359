import assert from "node:assert/strict";
import { isTaskOk, parseUpid, taskStatusPath } from "../../proxmox/_tasks.ts";

Deno.test("parseUpid() reads PVE's task ids", { permissions: "none" }, async (t) => {
  await t.step("a token's task", () => {
    const upid = parseUpid("UPID:pve-2:0012A3F4:0ABCDEF0:66A1B2C3:vzstart:101:idle@pve!watcher:");
    assert.deepEqual(upid, {
      value: "UPID:pve-2:0012A3F4:0ABCDEF0:66A1B2C3:vzstart:101:idle@pve!watcher:",
      node: "pve-2",
      pid: 0x0012a3f4,
      pstart: 0x0abcdef0,
      starttime: 0x66a1b2c3,
      type: "vzstart",
      id: "101",
      user: "idle@pve!watcher",
    });
  });
  await t.step("a 9-digit pstart and an empty id", () => {
    const upid = parseUpid("UPID:pve:00000001:1ABCDEF01:66A1B2C3:aptupdate::root@pam:");
    assert.equal(upid?.pstart, 0x1abcdef01);
    assert.equal(upid?.id, "");
  });
  await t.step("not UPIDs", () => {
    for (
      const value of [
        "UPID:pve:00000000:00000000:00000000:vzstart:101:root@pam", // no trailing colon
        "UPID:pve:0000000:00000000:00000000:vzstart:101:root@pam:", // 7 hex digits
        "UPID:-pve:00000000:00000000:00000000:vzstart:101:root@pam:", // bad node
        "UPID:pve:00000000:00000000:00000000:vzstart:101::", // no user
        "",
        null,
        42,
      ]
    ) {
      assert.equal(parseUpid(value), undefined, String(value));
    }
  });
});

Deno.test("isTaskOk() accepts OK and WARNINGS only", { permissions: "none" }, () => {
  assert.ok(isTaskOk("OK"));
  assert.ok(isTaskOk("WARNINGS: 3"));
  assert.ok(!isTaskOk("WARNINGS: many"));
  assert.ok(!isTaskOk("CT is locked (backup)"));
  assert.ok(
    !isTaskOk("command 'lxc-checkpoint -n 101 -s -D /var/lib/vz/dump' failed: exit code 1"),
  );
  assert.ok(!isTaskOk(""));
  assert.ok(!isTaskOk(undefined));
});

Deno.test(
  "taskStatusPath() URL-encodes the UPID and asks the UPID's node",
  { permissions: "none" },
  () => {
    const upid = parseUpid("UPID:pve2:0012A3F4:0ABCDEF0:66A1B2C3:vzstart:101:idle@pve!watcher:")!;
    assert.equal(
      taskStatusPath(upid),
      "/nodes/pve2/tasks/UPID%3Apve2%3A0012A3F4%3A0ABCDEF0%3A66A1B2C3%3Avzstart%3A101%3Aidle%40pve!watcher%3A/status",
    );
  },
);

import assert from "node:assert/strict";
import { taskStatusPath } from "../../proxmox/_api.ts";
import { clientCore } from "../../proxmox/client.ts";
import { newProxmoxProvider, ProxmoxClient } from "../../proxmox/mod.ts";
import { archiveEstimate, isTaskOk, parseUpid, TaskEnds, type Upid } from "../../proxmox/_tasks.ts";
import { requestLines, setup } from "./_setup.ts";
import { learnTaskEnd, taskCheckTimes, type TaskEnd } from "../../proxmox/_timing.ts";

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

/** The first `count` times of a schedule. */
function first(count: number, learned?: TaskEnd): number[] {
  const times: number[] = [];
  for (const time of taskCheckTimes(learned)) {
    times.push(time);
    if (times.length === count) return times;
  }
  return times;
}

Deno.test("taskCheckTimes() schedules the checks of a task", { permissions: "none" }, async (t) => {
  await t.step("nothing learned: 20 ms, then waits growing ×1.5 up to 300 ms", () => {
    assert.deepEqual(
      first(10),
      [20, 50, 95, 162.5, 263.75, 415.625, 643.4375, 943.4375, 1243.4375, 1543.4375],
    );
  });
  await t.step("a narrow bracket: one check at its end, then 20 ms, 30 ms... past it", () => {
    assert.deepEqual(first(4, { running: 985, done: 1000, hits: 0 }), [1000, 1020, 1050, 1095]);
  });
  await t.step("a wide bracket: split evenly, at most 4 checks, at least 20 ms apart", () => {
    assert.deepEqual(first(5, { running: 400, done: 640, hits: 0 }), [460, 520, 580, 640, 660]);
    assert.deepEqual(first(3, { running: 100, done: 130, hits: 0 }), [115, 130, 150]);
  });
  await t.step("after 4 hits in a row: a probe below the end, deeper while probes hit", () => {
    const bracket = { running: 990, done: 1000 };
    assert.deepEqual(first(3, { ...bracket, hits: 4 }), [900, 1000, 1020]);
    assert.deepEqual(first(2, { ...bracket, hits: 5 }), [800, 1000]);
    assert.deepEqual(first(2, { running: 90, done: 100, hits: 4 }), [60, 100]);
    assert.deepEqual(first(2, { ...bracket, hits: 30 }), [1000, 1020]);
  });
  await t.step(
    "until 8 waits agree: 30% below the end, a quarter as far after each wait that agrees",
    () => {
      const bracket = { running: 985, done: 1000, hits: 0 };
      assert.deepEqual(
        first(5, { ...bracket, seen: [{ running: 985, done: 1000 }] }),
        [775, 850, 925, 1000, 1020],
      );
      assert.deepEqual(
        first(5, { ...bracket, seen: [{ running: 985, done: 1000 }, { done: 1000 }] }),
        [943.75, 962.5, 981.25, 1000, 1020],
      );
      assert.deepEqual(first(2, { ...bracket, seen: Array(8).fill({ done: 1000 }) }), [1000, 1020]);
    },
  );
  await t.step("waits that disagree: 7 checks over the durations seen and a margin", () => {
    // Durations 750 and 1250: the margin is their gap, 500 ms, on either side.
    const seen = [{ running: 740, done: 760 }, { running: 1240, done: 1260 }];
    const times = first(10, { running: 1240, done: 1260, hits: 0, seen });
    const spread = times.slice(0, 7);
    assert.ok(spread[0] > 250 && spread[0] < 750, `${spread}`);
    assert.equal(Math.round(spread[6]), 1750);
    const gaps = spread.slice(1).map((time, i) => time - spread[i]);
    // Between the two durations seen, where both spread, the checks are closer.
    assert.ok(Math.max(gaps[2], gaps[3]) < Math.min(gaps[0], gaps[5]), `${gaps}`);
    // Past the spread: its last gap, then growing ×1.5 up to 300 ms.
    assert.deepEqual(times.slice(7).map(Math.round), [1750 + Math.round(gaps[5]), 2294, 2594]);
  });
  await t.step("waits that disagree: closer checks where more durations lie", () => {
    const seen = [
      { running: 990, done: 1010 },
      { running: 1000, done: 1020 },
      { running: 980, done: 1000 },
      { running: 1600, done: 1620 },
    ];
    const times = first(7, { running: 1600, done: 1620, hits: 0, seen });
    // A task as long as most were is found within 20 ms of its end, at the second check.
    const found = times.findIndex((time) => time >= 1000);
    assert.ok(found <= 1 && times[found] - 1000 < 20, `${times}`);
    const gapAt = (time: number) => {
      const i = times.findIndex((check) => check >= time);
      return times[i] - times[i - 1];
    };
    assert.ok(gapAt(1000) < gapAt(1600) / 2, `${times}`);
  });
  await t.step("no two checks more than 3 s apart", () => {
    const times = first(3, { running: 7990, done: 8000, hits: 0 });
    assert.deepEqual(times.map(Math.round), [2667, 5333, 8000]);
  });
});

Deno.test("learnTaskEnd() keeps a bracket of a task's end", { permissions: "none" }, async (t) => {
  await t.step("the first wait", () => {
    assert.deepEqual(learnTaskEnd(undefined, { running: 985, done: 1000 }), {
      running: 985,
      done: 1000,
      hits: 0,
      seen: [{ running: 985, done: 1000 }],
    });
    assert.deepEqual(learnTaskEnd(undefined, { done: 20 }), {
      running: 0,
      done: 20,
      hits: 1,
      seen: [{ done: 20 }],
    });
  });
  await t.step("brackets that agree are intersected (a late check does not creep)", () => {
    const learned = { running: 985, done: 1000, hits: 2 };
    // A hit where a steady task was due keeps the learned start (the end is known within 40 ms).
    assert.deepEqual(learnTaskEnd(learned, { done: 1001.5 }), {
      ...learned,
      hits: 3,
      seen: [{ running: 985, done: 1001.5 }],
    });
    const wide = { running: 900, done: 1100, hits: 0 };
    assert.deepEqual(learnTaskEnd(wide, { done: 950 }), {
      running: 900,
      done: 950,
      hits: 1,
      seen: [{ done: 950 }],
    });
    assert.deepEqual(learnTaskEnd(learned, { running: 990, done: 1003 }), {
      running: 990,
      done: 1000,
      hits: 0,
      seen: [{ running: 990, done: 1003 }],
    });
  });
  await t.step("a quicker or a slower task replaces the bracket", () => {
    const learned = { running: 985, done: 1000, hits: 8, seen: [{ running: 985, done: 1000 }] };
    assert.deepEqual(learnTaskEnd(learned, { running: 600, done: 620 }), {
      running: 600,
      done: 620,
      hits: 0,
      seen: [{ running: 985, done: 1000 }, { running: 600, done: 620 }],
    });
    assert.deepEqual(learnTaskEnd(learned, { done: 900 }), {
      running: 0,
      done: 900,
      hits: 9,
      seen: [{ running: 985, done: 1000 }, { done: 900 }],
    });
    assert.deepEqual(learnTaskEnd(learned, { running: 2950, done: 3000 }), {
      running: 2950,
      done: 3000,
      hits: 0,
      seen: [{ running: 985, done: 1000 }, { running: 2950, done: 3000 }],
    });
  });
  await t.step("keeps what the latest 8 waits saw", () => {
    let learned: TaskEnd | undefined;
    for (let wait = 1; wait <= 10; wait++) {
      learned = learnTaskEnd(learned, { running: 100 * wait, done: 100 * wait + 20 });
    }
    assert.deepEqual(learned?.seen?.map((seen) => seen.running), [
      300,
      400,
      500,
      600,
      700,
      800,
      900,
      1000,
    ]);
  });
});

/** What one wait for a task of `duration` ms saw, scheduled from `learned`. */
function waitFor(learned: TaskEnd | undefined, duration: number) {
  let running: number | undefined;
  let checks = 0;
  for (const time of taskCheckTimes(learned)) {
    checks++;
    if (time < duration) {
      running = time;
      continue;
    }
    return {
      late: time - duration,
      checks,
      learned: learnTaskEnd(learned, { running, done: time }),
    };
  }
  throw new Error("unreachable");
}

/** How late each of a run of waits found its task, and with how many checks. */
function waitsFor(durations: number[], learned?: TaskEnd) {
  const waits: { late: number; checks: number }[] = [];
  for (const duration of durations) {
    const wait = waitFor(learned, duration);
    learned = wait.learned;
    waits.push({ late: wait.late, checks: wait.checks });
  }
  return waits;
}

/** How late a fixed 300 ms poll finds a task of `duration` ms. */
function pollLate(duration: number): number {
  return Math.ceil(duration / 300) * 300 - duration;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

Deno.test(
  "taskCheckTimes() and learnTaskEnd() find a task whose duration varies soon after it ends",
  { permissions: "none" },
  async (t) => {
    // PVE's task archive said about 1 s (archiveEstimate's bracket).
    const estimate = { running: 900, done: 1100, hits: 0 };
    await t.step("a quicker task after one wait", () => {
      const [, quicker] = waitsFor([1000, 760], estimate);
      assert.ok(quicker.late < 50, `${quicker.late} ms late`);
      assert.ok(quicker.checks <= 4, `${quicker.checks} checks`);
    });
    await t.step("a quicker task after slower ones", () => {
      // Within the durations seen: found within the gap of the checks there.
      const within = waitsFor([1000, 1240, 880, 1300, 1100, 1200, 930], estimate).at(-1)!;
      assert.ok(within.late < 100, `${within.late} ms late`);
      // Quicker than any seen: the first check finds it, and tells that tasks got quicker, so
      // that a few waits later such a task is found soon after its end.
      const durations = [...Array(6).fill(1300), ...Array(12).fill(800)];
      const waits = waitsFor(durations, estimate).slice(6);
      assert.ok(waits.slice(6).every((wait) => wait.late < 100), JSON.stringify(waits));
      // Never later than where a task as long as the slower ones was found (within 20 ms).
      assert.ok(waits.every((wait) => wait.late < 1300 + 20 - 800), JSON.stringify(waits));
    });
    await t.step("alternating 700 and 1300 ms", () => {
      const durations = Array.from({ length: 16 }, (_, i) => i % 2 ? 1300 : 700);
      const waits = waitsFor(durations, estimate).slice(4);
      const late = waits.map((wait) => wait.late);
      assert.ok(mean(late) < mean(durations.slice(4).map(pollLate)) / 3, `${late}`);
      assert.ok(Math.max(...late) < 200, `${late}`);
      assert.ok(Math.max(...waits.map((wait) => wait.checks)) <= 8, JSON.stringify(waits));
    });
    await t.step("durations anywhere in 700–1300 ms", () => {
      // A fixed pseudo-random sequence (an LCG's high bits).
      let state = 12345;
      const durations = Array.from({ length: 60 }, () => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return 700 + Math.floor((state / 2 ** 31) * 600);
      });
      const waits = waitsFor(durations, estimate).slice(8);
      const late = waits.map((wait) => wait.late);
      assert.ok(mean(late) < mean(durations.slice(8).map(pollLate)) / 3, `mean ${mean(late)}`);
      assert.ok(mean(waits.map((wait) => wait.checks)) <= 5, JSON.stringify(waits));
    });
    await t.step("one slow task among steady ones", () => {
      const durations = [...Array(8).fill(1000), 3000, ...Array(12).fill(1000)];
      const waits = waitsFor(durations).slice(9);
      assert.ok(waits.every((wait) => wait.late < 20 && wait.checks <= 2), JSON.stringify(waits));
      // Back to one check once the slow task is out of the latest 8 waits.
      assert.deepEqual(waits.slice(9).map((wait) => wait.checks), [1, 1, 1]);
    });
  },
);

Deno.test(
  "taskCheckTimes() and learnTaskEnd() settle on one check soon after a steady task ends",
  { permissions: "none" },
  () => {
    const WAITS = 40;
    const SETTLED = 5;
    for (const duration of [10, 100, 500, 1_000, 2_000, 5_000]) {
      // One check; two when the connection needs a keep-alive check on the way.
      const steady = duration > 3_000 ? 2 : 1;
      let learned: TaskEnd | undefined;
      let probes = 0;
      for (let wait = 0; wait < WAITS; wait++) {
        let running: number | undefined;
        let checks = 0;
        for (const time of taskCheckTimes(learned)) {
          checks++;
          if (time < duration) {
            running = time;
            continue;
          }
          if (wait >= SETTLED) {
            const label = `${duration} ms, wait ${wait}`;
            assert.ok(time - duration < 20, `${label}: found ${time - duration} ms late`);
            assert.ok(checks <= steady + 1, `${label}: ${checks} checks`);
            if (checks > steady) probes++;
          }
          learned = learnTaskEnd(learned, { running, done: time });
          break;
        }
      }
      // A probe (one more check) after every 4 waits that needed one.
      assert.ok(probes <= Math.ceil((WAITS - SETTLED) / 5), `${duration} ms: ${probes} probes`);
    }
  },
);

/** A UPID of `type` for guest `id` on `node`. */
function upidOf(node: string, type: string, id: string): Upid {
  return parseUpid(`UPID:${node}:0012A3F4:0ABCDEF0:66A1B2C3:${type}:${id}:root@pam:`)!;
}

Deno.test(
  "TaskEnds keeps one bracket per node, task type and guest, the latest 1024",
  { permissions: "none" },
  () => {
    const ends = new TaskEnds();
    ends.learn(upidOf("pve", "vzstart", "101"), { running: 980, done: 1000 });
    assert.deepEqual(ends.get(upidOf("pve", "vzstart", "101")), {
      running: 980,
      done: 1000,
      hits: 0,
      seen: [{ running: 980, done: 1000 }],
    });
    assert.equal(ends.get(upidOf("pve", "vzstop", "101")), undefined);
    assert.equal(ends.get(upidOf("pve", "vzstart", "102")), undefined);
    assert.equal(ends.get(upidOf("pve2", "vzstart", "101")), undefined);
    for (let vmid = 1000; vmid < 2023; vmid++) {
      ends.learn(upidOf("pve", "vzstart", String(vmid)), { done: 50 });
    }
    assert.ok(ends.get(upidOf("pve", "vzstart", "101")));
    ends.learn(upidOf("pve", "vzstart", "2023"), { done: 50 });
    assert.equal(ends.get(upidOf("pve", "vzstart", "101")), undefined);
    assert.ok(ends.get(upidOf("pve", "vzstart", "1000")));
  },
);

Deno.test(
  "TaskEnds tells what a task of the same type took on the node, for a guest with nothing learned",
  { permissions: "none" },
  () => {
    const ends = new TaskEnds();
    assert.equal(ends.onNode(upidOf("pve", "vzstart", "102")), undefined);
    ends.guess(upidOf("pve", "vzstart", "101"), { running: 900, done: 1100, hits: 0 });
    assert.deepEqual(ends.onNode(upidOf("pve", "vzstart", "102")), {
      running: 900,
      done: 1100,
      hits: 0,
    });
    ends.learn(upidOf("pve", "vzstart", "101"), { running: 980, done: 1000 });
    const learned = { running: 980, done: 1000, hits: 0 };
    assert.deepEqual(ends.onNode(upidOf("pve", "vzstart", "102")), learned);
    // A guess does not replace what a task showed.
    ends.guess(upidOf("pve", "vzstart", "103"), { running: 0, done: 5000, hits: 0 });
    assert.deepEqual(ends.onNode(upidOf("pve", "vzstart", "103")), learned);
    assert.equal(ends.get(upidOf("pve", "vzstart", "102")), undefined, "its own kind stays empty");
    assert.equal(ends.onNode(upidOf("pve", "vzstop", "102")), undefined);
    assert.equal(ends.onNode(upidOf("pve2", "vzstart", "102")), undefined);
  },
);

Deno.test(
  "archiveEstimate() brackets a task's duration from PVE's task archive of the node",
  async () => {
    await using s = await setup({ taskDurationMs: 1000 });
    const transport = clientCore(s.client).transport;
    const upid = upidOf("pve", "vzstart", "199");
    const options = { signal: new AbortController().signal, context: { what: "wait" } };
    for (let vmid = 101; vmid <= 104; vmid++) s.fake.addCt("pve", vmid);
    using first = await newProxmoxProvider("pve", 101, { client: s.client });
    await first.containerStart();
    assert.equal(await archiveEstimate(transport, upid, options), undefined, "one task: too few");

    for (let vmid = 102; vmid <= 104; vmid++) {
      using provider = await newProxmoxProvider("pve", vmid, { client: s.client });
      await provider.containerStart();
    }
    const estimate = await archiveEstimate(transport, upid, options);
    assert.ok(estimate, "four tasks");
    assert.ok(estimate.running < 1000 && estimate.done > 1000, JSON.stringify(estimate));
    assert.ok(estimate.done - estimate.running <= 2000, JSON.stringify(estimate));
    const other = upidOf("pve", "vzshutdown", "101");
    assert.equal(await archiveEstimate(transport, other, options), undefined, "another type");

    // A fresh client reads the archive once, for its first task of the type on the node.
    using fresh = new ProxmoxClient(s.config);
    s.fake.resetRequests();
    for (const vmid of [101, 102]) {
      s.fake.setCt(vmid, { status: "stopped" });
      using provider = await newProxmoxProvider("pve", vmid, { client: fresh });
      await provider.containerStart();
    }
    const reads = requestLines(s.fake).filter((line) => line === "GET /nodes/pve/tasks");
    assert.equal(reads.length, 1);
  },
);

import assert from "node:assert/strict";
import { StreamPosition } from "../../docker/_watch/_position.ts";

const line = (time: bigint, action = "start") => `{"Action":"${action}","timeNano":${time}}`;

Deno.test({
  name: "StreamPosition.admit() recognises every line a resume can repeat, and only those",
  permissions: "none",
  fn() {
    for (
      let latest = 1_795_911_714_482_728_368n;
      latest < 1_795_911_714_482_738_368n;
      latest += 997n
    ) {
      const position = new StreamPosition();
      const since = latest - 1_000_000n; // what resumeSince() asks for
      // Lines just inside the resumed window, then the newest one.
      const edge = [since, since + 1n, since + 255n, since + 4_096n].map((t) => line(t));
      for (const text of edge) assert.ok(position.admit(text, /"timeNano":(\d+)/.exec(text)![1]));
      assert.ok(position.admit(line(latest), String(latest)));
      assert.equal(
        position.resumeSince(),
        `${since / 1_000_000_000n}.${String(since % 1_000_000_000n).padStart(9, "0")}`,
      );
      // The resume repeats them all: none is taken again.
      for (const text of [...edge, line(latest)]) {
        assert.equal(position.admit(text, /"timeNano":(\d+)/.exec(text)![1]), false, text);
      }
      // A different event at a time already seen, and a late one, are new.
      assert.ok(position.admit(line(latest, "die"), String(latest)));
      assert.ok(position.admit(line(latest - 10n, "kill"), String(latest - 10n)));
    }
  },
});

Deno.test({
  name: "StreamPosition probes tell whether a replay joins up with what was seen",
  permissions: "none",
  fn() {
    const position = new StreamPosition();
    assert.equal(position.known, false);
    assert.equal(position.resumeSince(), undefined);
    position.setClock(1_800_000_000_000_000_000n);
    assert.equal(position.resumeSince(), "1799999999.999000000");
    position.startProbe();
    assert.equal(position.endProbe(), false, "a clock is no event: nothing can join up");

    const t = 1_800_000_000_500_000_000n;
    assert.ok(position.admit(line(t), String(t)));
    position.startProbe();
    assert.equal(position.admit(line(t), String(t)), false);
    assert.equal(position.endProbe(), true);
    position.startProbe();
    assert.equal(position.endProbe(), false, "a replay without the newest line does not join");
  },
});

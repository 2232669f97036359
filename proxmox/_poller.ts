/**
 * One status poll per node and kind of guest for every watch on a client.
 * Each node with at least one watched CT is asked `GET /nodes/{node}/lxc`,
 * and with at least one watched VM `GET /nodes/{node}/qemu?full=1`, once
 * per interval (live, unlike `/cluster/resources`, which lags up to 10 s).
 * Each change of a guest's state is told to its watches. For a CT, whether
 * a stop was a suspend comes from its latest power task, read once per
 * running→stopped change and never otherwise (a CT that runs again after a
 * suspend the watch saw was resumed, otherwise started); a VM's list entry
 * says it all (`qmpstatus`, which only `full=1` reads, and the hibernation
 * lock). So an interval costs one list request per node and kind with
 * watched guests, plus one task read per CT that stopped. A guest missing from
 * its node's list is looked up in the cluster (`/cluster/resources`, whose
 * node is current): a migrated guest is followed to its new node, one the
 * cluster no longer has is reported destroyed.
 *
 * @module
 */

import type { WatchStreams } from "../provider.ts";
import { GuestWatch, labelOf, type WatchBuffers, type WatchedGuest } from "./_guest_watch.ts";
import { NodePoll } from "./_node_poll.ts";
import type { Transport } from "./_transport.ts";

const DEFAULT_BUFFERS: WatchBuffers = { events: 1024, errors: 64 };

/** Polls each watched node once per interval, for all watches of one client. */
export class StatusPoller {
  #transport: Transport;
  #intervalMs: number;
  #buffers: WatchBuffers;
  #nodes = new Map<string, NodePoll>();
  #closed = false;

  constructor(transport: Transport, intervalMs: number, buffers: WatchBuffers = DEFAULT_BUFFERS) {
    this.#transport = transport;
    this.#intervalMs = intervalMs;
    this.#buffers = buffers;
  }

  /**
   * Starts a watch of `guest`; it ends when `signal` aborts, when a reader
   * cancels either stream, on `close()`, or after the CT vanished from the
   * cluster (a CT migrated to another node is followed there). After
   * `close()`, the watch is over at once: both streams are closed.
   */
  watch(guest: WatchedGuest, signal?: AbortSignal): WatchStreams {
    const watch = new GuestWatch({ ...guest }, this.#buffers, signal, () => {
      this.#nodes.get(watch.guest.node)?.remove(watch);
    });
    if (this.#closed || signal?.aborted) watch.end();
    else this.#pollOf(guest.node).add(watch);
    return watch.streams;
  }

  /** Ends every watch and any later one; polling stops. */
  close(): void {
    this.#closed = true;
    for (const poll of [...this.#nodes.values()]) poll.close();
  }

  #pollOf(node: string): NodePoll {
    let poll = this.#nodes.get(node);
    if (poll === undefined) {
      poll = new NodePoll(node, this.#transport, this.#intervalMs, {
        onIdle: () => this.#nodes.delete(node),
        onMoved: (watch, to) => this.#move(watch, to),
      });
      this.#nodes.set(node, poll);
    }
    return poll;
  }

  /** Hands a watch to the poll of the node its guest moved to. */
  #move(watch: GuestWatch, node: string): void {
    this.#transport.config.logger.debug(
      `${labelOf(watch.guest)} moved from node "${watch.guest.node}" to "${node}"`,
      { container: `${watch.guest.vmid}`, action: "watch" },
    );
    this.#nodes.get(watch.guest.node)?.remove(watch);
    watch.guest.node = node;
    this.#pollOf(node).add(watch);
  }
}

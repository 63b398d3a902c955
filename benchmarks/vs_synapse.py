"""Tidings side by side with Matrix Synapse at equal concurrency, on one machine.

Both servers get the same work at each concurrency C (default 1, 8 and 32): C
closed-loop senders, each in its own 1:1 conversation, the same number of messages in
all, the same payload size; latency from the start of a send to its receipt by the
receiving client, delivered throughput from the first send to the last receipt.

- **Tidings**, through the path its clients use: the SDK's ``Messenger.send_text`` with
  real Olm encryption, over the sender's open event-stream connection, to the
  recipient's ``Messenger.receive`` callback (``sdk_send.py`` does the measuring).
  SQLite with synchronous=FULL, answered after COMMIT; authentication, franking and
  rate limiting on, the per-device ``send`` limit at its default (600 a minute, so a
  level that sends more than that from one device is capped by it, and says so).
- **Synapse** (installed into ``benchmarks/.synapse-venv``, SQLite, presence off, rate
  limits out of the way): each sender PUTs ``m.room.message`` events as long as
  Tidings' Olm ciphertext into its room; the receiver long-polls ``/sync``.

It prints both servers' figures per C and the ratio, and with ``--svg DIR`` draws
throughput and p99 against concurrency (docs/images/ in the docs).

    PYTHONPATH=src python benchmarks/vs_synapse.py --concurrency 1 8 32 --messages 2000 \\
        --svg docs/images
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _svg  # noqa: E402
import _synapse  # noqa: E402
import private_relay  # noqa: E402
import sdk_send  # noqa: E402
from _report import result  # noqa: E402


def synapse_levels(levels: list[int], messages: int, body_size: int
                   ) -> dict[int, _synapse.Figures]:
    python = _synapse.ensure_installed()
    with tempfile.TemporaryDirectory() as tmp:
        port = private_relay.free_port()
        config = _synapse.configure(python, Path(tmp), port)

        async def run() -> dict[int, _synapse.Figures]:
            proc = await _synapse.start(python, config, port)
            try:
                return {c: await _synapse.measure_senders(port, messages, c, body_size)
                        for c in levels}
            finally:
                proc.terminate()
                proc.wait(20)

        return asyncio.run(run())


def draw(where: Path, levels: list[int], tidings: dict[int, dict[str, Any]],
         synapse: dict[int, _synapse.Figures], load: str) -> None:
    names = ["Tidings (SDK send)", "Synapse (HTTP PUT, /sync)"]
    rate = _svg.grouped("Delivered messages per second against concurrency", levels, {
        names[0]: [tidings[c]["messages_per_s"] for c in levels],
        names[1]: [synapse[c].rate for c in levels]})
    p99 = _svg.grouped("p99 latency (send to receipt) against concurrency", levels, {
        names[0]: [tidings[c]["p99_ms"] for c in levels],
        names[1]: [synapse[c].p99_ms for c in levels]})
    note = f"2 cores, SQLite, closed-loop senders; {load}"
    _svg.write(where / "vs-synapse-throughput.svg", rate, names, "msg/s", note)
    _svg.write(where / "vs-synapse-p99.svg", p99, names, "ms", note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--messages", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--svg", type=Path, default=None, metavar="DIR",
                        help="write throughput and p99 charts (SVG) into DIR")
    args = parser.parse_args()
    print("command: PYTHONPATH=src python " + shlex.join(sys.argv))
    before = os.getloadavg()
    tidings_args = argparse.Namespace(concurrency=args.concurrency, messages=args.messages,
                                      text_chars=300, path="socket", profile=None,
                                      database_url=None)
    print("tidings settings: " + str(sdk_send.settings(tidings_args)), flush=True)
    rows, _fsync = sdk_send.measure(tidings_args)
    tidings = {r["senders"]: r for r in rows}
    body = max(r["olm_ciphertext_bytes"] for r in rows) * 4 // 3  # base64 characters
    synapse = synapse_levels(args.concurrency, args.messages, body)
    after = os.getloadavg()
    load = f"load average {before[0]:.1f} before, {after[0]:.1f} after"
    print(f"machine: {os.cpu_count()} cores; {load}")
    print(f"{'C':>3}  {'Tidings msg/s':>13} {'p50 ms':>8} {'p99 ms':>8}   "
          f"{'Synapse msg/s':>13} {'p50 ms':>8} {'p99 ms':>8}   {'ratio':>6}")
    for c in args.concurrency:
        t, s = tidings[c], synapse[c]
        ratio = t["messages_per_s"] / s.rate
        print(f"{c:>3}  {t['messages_per_s']:>13.1f} {t['p50_ms']:>8.1f} {t['p99_ms']:>8.1f}   "
              f"{s.rate:>13.1f} {s.p50_ms:>8.1f} {s.p99_ms:>8.1f}   {ratio:>5.1f}x")
        result(f"vs synapse C={c} tidings delivered", t["messages_per_s"], "msg/s")
        result(f"vs synapse C={c} tidings p99", t["p99_ms"], "ms",
               "<= 50 ms" if c == 32 else "")
        result(f"vs synapse C={c} synapse delivered", round(s.rate, 1), "msg/s")
        result(f"vs synapse C={c} synapse p99", round(s.p99_ms, 1), "ms")
        result(f"vs synapse C={c} throughput ratio", round(ratio, 1), "x",
               ">= 20x" if c == 32 else "")
    print("(Tidings CPU per message, server/client ms: "
          + ", ".join(f"C={c} {tidings[c]['server_cpu_ms_per_message']}/"
                      f"{tidings[c]['client_cpu_ms_per_message']}" for c in args.concurrency)
          + f"; Synapse body {body} chars)")
    if args.svg is not None:
        draw(args.svg, args.concurrency, tidings, synapse, load)
        print(f"charts: {args.svg / 'vs-synapse-throughput.svg'}, "
              f"{args.svg / 'vs-synapse-p99.svg'}")


if __name__ == "__main__":
    main()

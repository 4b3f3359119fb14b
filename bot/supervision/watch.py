"""supervisord's event listener: counts each server's restarts and stops a crash loop.

supervisord itself gives up on a server that dies within seconds of every start (FATAL after
`startretries`). A server that runs for a while and then dies is restarted at once, forever;
that is right for a one-off crash but not for a server that crashes on every customer. This
listener stops such a loop (CRASH_LOOP_EXITS in CRASH_LOOP_WINDOW_S), says so plainly, and keeps
the restart counts that `python -m bot status` and /metrics show.

Run by supervisord (`[eventlistener:watch]`): events arrive on stdin, answers go to stdout, so
the listener's own words go to stderr, which supervisord writes to its log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.supervision.programs import title

CRASH_LOOP_EXITS = 5
CRASH_LOOP_WINDOW_S = 300.0


@dataclass
class ProgramRecord:
    restarts: int = 0
    crashes: int = 0
    last_crash: float | None = None
    gave_up: bool = False
    recent_crashes: deque[float] = field(default_factory=deque, repr=False)


class Watcher:
    """Keeps the records of every server and decides when a crash loop must stop.

    Args:
        state_file: where the records are written (JSON) after every change.
        log_dir: where each server's log is, for the messages.
        stop_process: asks supervisord to stop restarting a server.
        report: where the plain messages go.
        now: the clock (a test's own).
    """

    def __init__(
        self,
        state_file: Path,
        log_dir: Path,
        stop_process: Callable[[str], None],
        report: TextIO = sys.stderr,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._state_file = state_file
        self._log_dir = log_dir
        self._stop_process = stop_process
        self._report = report
        self._now = now
        self._records: dict[str, ProgramRecord] = {}

    def on_event(self, event: str, headers: dict[str, str]) -> None:
        name = headers.get("processname", "")
        if not name or name == "watch":
            return
        record = self._records.setdefault(name, ProgramRecord())
        state = event.removeprefix("PROCESS_STATE_")
        if state == "STARTING" and headers.get("from_state") in ("EXITED", "BACKOFF"):
            record.restarts += 1
        elif state == "EXITED" and headers.get("expected") == "0":
            self._crashed(name, record, headers.get("pid", "?"))
        elif state == "FATAL":
            record.gave_up = True
            self._say(
                f"{title(name)} failed every time it started; it is no longer restarted. "
                f"See {self._log_dir / (name + '.log')}. The other servers keep serving."
            )
        elif state == "RUNNING" and record.gave_up:
            record.gave_up = False  # an operator started it again
        self._save()

    def _crashed(self, name: str, record: ProgramRecord, pid: str) -> None:
        now = self._now()
        record.crashes += 1
        record.last_crash = now
        record.recent_crashes.append(now)
        while record.recent_crashes and now - record.recent_crashes[0] > CRASH_LOOP_WINDOW_S:
            record.recent_crashes.popleft()
        if len(record.recent_crashes) < CRASH_LOOP_EXITS:
            self._say(f"{title(name)} stopped unexpectedly (pid {pid}); restarting it.")
            return
        record.gave_up = True
        self._stop_process(name)
        minutes = CRASH_LOOP_WINDOW_S / 60
        self._say(
            f"{title(name)} crashed {len(record.recent_crashes)} times in {minutes:.0f} minutes; "
            f"it is no longer restarted. See {self._log_dir / (name + '.log')}. "
            "Start it again with `python -m bot restart "
            f"{name}` once the cause is fixed."
        )

    def records(self) -> dict[str, ProgramRecord]:
        return self._records

    def _say(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} supervision: {text}", file=self._report, flush=True)

    def _save(self) -> None:
        saved = {
            name: {k: v for k, v in asdict(record).items() if k != "recent_crashes"}
            for name, record in self._records.items()
        }
        partial = self._state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(saved), encoding="utf-8")
        partial.replace(self._state_file)  # readers never see half a file


def read_records(state_file: Path) -> dict[str, dict[str, Any]]:
    """The watcher's records ({} before the first event or without supervision)."""
    try:
        records = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(records, dict):
        return {}
    return {name: record for name, record in records.items() if isinstance(record, dict)}


def restarts(state_file: Path) -> dict[str, int]:
    """Each server's restarts so far, by name."""
    return {
        name: int(record.get("restarts", 0)) for name, record in read_records(state_file).items()
    }


def _headers(line: str) -> dict[str, str]:
    return dict(part.split(":", 1) for part in line.split() if ":" in part)


def main() -> int:  # pragma: no cover - the protocol loop; Watcher is what is tested
    from supervisor import childutils

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    args = parser.parse_args()
    rpc = childutils.getRPCInterface(os.environ)

    def stop_process(name: str) -> None:
        try:
            rpc.supervisor.stopProcess(name, False)
        except Exception as error:  # noqa: BLE001 - already stopping, or gone: say it, go on
            print(f"supervision: could not stop {name}: {error}", file=sys.stderr, flush=True)

    watcher = Watcher(args.state, args.log_dir, stop_process)
    while True:
        envelope, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        first_line = payload.split("\n", 1)[0]
        watcher.on_event(envelope.get("eventname", ""), _headers(first_line))
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())

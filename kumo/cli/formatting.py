"""Tables and the progress bar the CLI prints (prettytable, nova's look)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import prettytable


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def print_list(rows: Iterable[Mapping[str, Any]], fields: Sequence[str],
               labels: Sequence[str] | None = None, out: TextIO | None = None) -> None:
    """One row per item, one column per field (``labels`` are the headings)."""
    table = prettytable.PrettyTable(list(labels or fields))
    table.align = "l"
    for row in rows:
        table.add_row([_cell(row.get(field)) for field in fields])
    print(table, file=out or sys.stdout)


def print_dict(item: Mapping[str, Any], out: TextIO | None = None) -> None:
    """A two-column Property/Value table of ``item``, sorted by property."""
    table = prettytable.PrettyTable(["Property", "Value"])
    table.align = "l"
    for key in sorted(item):
        table.add_row([key, _cell(item[key])])
    print(table, file=out or sys.stdout)


class ProgressBar:
    """A text progress bar on stderr: redrawn in place on a TTY, one line per change else."""

    WIDTH = 30

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        self.label = label
        self.out = out or sys.stderr
        self._last: str | None = None
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())

    def update(self, percent: int, status: str) -> None:
        percent = max(0, min(100, int(percent)))
        filled = self.WIDTH * percent // 100
        line = (f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{percent:3d}% {status}")
        if line == self._last:
            return
        self._last = line
        if self._tty:
            self.out.write("\r" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self._tty and self._last is not None:
            self.out.write("\n")
            self.out.flush()

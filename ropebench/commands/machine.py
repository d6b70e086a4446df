"""``ropebench machine``: write asv's machine file with the GPU, driver, CUDA and torch versions
(ropebench.asvtools.machine)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ropebench.asvtools.machine import machine_entry, write_machine_file
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("--machine", default=None, help="name to use (default: derived from the GPU model)")
    p.add_argument("--file", default=None, help="machine file to write (default: asv's, ~/.asv-machine.json)")
    p.add_argument("--print", action="store_true", help="print the entry as JSON instead of writing it")


def run(args) -> int:
    if args.machine is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", args.machine):
        raise RopeBenchError(f"machine name {args.machine!r} may hold only letters, digits, '.', '_' and '-'")
    name, entry = machine_entry(args.machine)
    if args.print:
        print(json.dumps(entry, indent=1))
        return 0
    path = Path(args.file or os.environ.get("ASV_MACHINE_FILE") or Path.home() / ".asv-machine.json")
    write_machine_file(path, name, entry)
    print(f"{path}: machine {name!r}: gpu={entry['gpu']}, driver={entry['driver']}, cuda={entry['cuda']}, "
          f"torch={entry['torch']}")
    return 0

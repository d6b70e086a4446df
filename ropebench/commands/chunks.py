"""``ropebench chunks``: the planned commits still without results, as hash files of at most N.

The library behind it: ropebench.asvtools.chunks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ropebench.asvtools.chunks import MATRIX_LIMIT, measured, plan_chunks, read_hashfile, write_chunks
from ropebench.errors import RopeBenchError


def add_arguments(p) -> None:
    p.add_argument("plan", metavar="HASHFILE", help="the planned commits (ropebench plan --out)")
    p.add_argument("--results", required=True, metavar="DIR",
                   help="asv results folder restored from the results branch (may be empty or missing)")
    p.add_argument("--machine", required=True, help="asv machine name whose results count as done")
    p.add_argument("--size", type=int, required=True, metavar="N", help="most commits in one chunk")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for chunk-K.txt")
    p.add_argument("--max-chunks", type=int, default=MATRIX_LIMIT, metavar="M",
                   help=f"write at most M chunks; the rest waits for the next run (default {MATRIX_LIMIT})")
    p.add_argument("--next", action="store_true", help="write only the next chunk (chunk-0.txt)")
    p.add_argument("--github-output", action="store_true",
                   help="append matrix=[K,...], chunks=K and todo=T to $GITHUB_OUTPUT when it is set")


def run(args) -> int:
    planned = read_hashfile(args.plan)
    out = plan_chunks(planned, measured(args.results, args.machine), args.size,
                      1 if args.next else args.max_chunks)
    try:
        written = write_chunks(out["chunks"], Path(args.out))
        gh = os.environ.get("GITHUB_OUTPUT")
        if args.github_output and gh:
            with open(gh, "a", encoding="utf-8") as f:
                f.write(f"matrix={json.dumps([w['index'] for w in written])}\nchunks={len(written)}\n"
                        f"todo={out['todo']}\n")
    except OSError as exc:
        raise RopeBenchError(f"cannot write the chunks: {exc}") from None
    if not written:
        print(f"nothing new: all {out['planned']} planned commit(s) already have results for "
              f"{args.machine}", file=sys.stderr)
    else:
        print(f"{out['todo']} of {out['planned']} planned commit(s) to measure: {len(written)} chunk(s) "
              f"of at most {args.size}" + (f"; {out['left_for_later']} left for the next run"
                                           if out["left_for_later"] and not args.next else ""), file=sys.stderr)
    print(json.dumps({**{k: v for k, v in out.items() if k != "chunks"}, "chunks": written}, indent=2))
    return 0

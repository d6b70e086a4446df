"""The ``ropebench`` command: thin glue. Parse, call the library, print, return an exit code.

Each sub-command lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``
(ropebench/commands/<name>.py; a few still live beside their library and move there in turn);
modules are imported only when their command runs, so ``--help`` and bad flags are instant.
A RopeBenchError becomes one line on stderr and its exit code (2 unless it says otherwise). Any other
exception is a bug of ours: its traceback goes to a log file, stderr gets one line naming the error
and the file, and the exit code is 3 (errors.py lists every code).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import logging
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from ropebench import __version__
from ropebench.errors import EXIT_BUG, EXIT_ERROR, RopeBenchError

# command -> (module, one-line help)
COMMANDS = {
    "run": ("ropebench.commands.run", "time RoPE backends on the seed grid (or one --single point)"),
    "doctor": ("ropebench.commands.doctor", "say what this machine can run, one line per check, and what to do next"),
    "kernel-info": ("ropebench.commands.kernel_info", "print a vLLM checkout's RoPE kernel traits as JSON"),
    "build-kernel": ("ropebench.commands.build_kernel", "build one vLLM commit's RoPE kernel into a wheel"),
    "install-vllm": ("ropebench.commands.install_vllm", "install vLLM's precompiled wheel of one exact commit"),
    "machine": ("ropebench.commands.machine", "write asv's machine file with GPU, driver, CUDA and torch"),
    "compare": ("ropebench.commands.compare", "compare two commits' asv results as Markdown; exit 1 on regression"),
    "plan": ("ropebench.commands.plan", "write the commits of a range whose RoPE kernel changed as an asv hash file"),
    "shard": ("ropebench.commands.shard", "split a commit range into N asv hash files"),
    "sidecar": ("ropebench.commands.sidecar", "after asv run: record versions and kernel build beside new results"),
    "steps": ("ropebench.commands.steps", "write the site's steps page: each step, its commits and suspects"),
    "merge": ("ropebench.commands.merge", "merge asv result folders from several shards"),
    "push-results": ("ropebench.commands.push_results", "commit new asv results to a results branch, safely"),
    "chunks": ("ropebench.commands.chunks", "planned commits without results, as hash files of at most N"),
    "health": ("ropebench.commands.health", "check the GPU is fit to measure (processes, clocks, ECC/XID, temp.)"),
    "alert": ("ropebench.commands.alert", "title and body of the nightly's regression or failure issue"),
    "fidelity": ("ropebench.commands.fidelity", "check the timer against CUPTI, repeatability and detection power"),
}

# command -> an example shown at the end of its --help (tests/test_cli_bad_input.py checks every command has one)
EXAMPLES = {
    "run": "ropebench run --quick                       # a few representative points, under a minute\n"
           "  ropebench run --single --batch-size 16 --seq-len 512 --backends torch,vllm",
    "doctor": "ropebench doctor                            # exit 0 when a GPU benchmark can run here",
    "kernel-info": "ropebench kernel-info ~/vllm --device cpu",
    "build-kernel": "ropebench build-kernel ~/vllm --out wheels/ --arch 9.0",
    "install-vllm": "ropebench install-vllm --commit 0f5257e2...(40 hex) --wheel-dir wheels/",
    "machine": "ropebench machine --print",
    "compare": "ropebench compare main~1 main --factor 1.05 --markdown compare.md",
    "shard": "ropebench shard main~40..main --shards 4 --out shards/",
    "merge": "ropebench merge results/ shard-0/results shard-1/results",
    "push-results": "ropebench push-results .asv/results --remote origin --branch results",
    "chunks": "ropebench chunks planned.txt --results .asv/results --machine h200 --size 20 --out chunks/ --next",
    "health": "ropebench health --device cuda:0 --out health.json   # exit 1: do not measure on this GPU",
    "alert": "ropebench alert regression --html .asv/html --out alert/",
    "plan": "ropebench plan ~/vllm main~2000..main --out plan.txt   # then: asv run HASHFILE:plan.txt",
    "sidecar": "ropebench sidecar --all                     # after asv run: versions and build record per result",
    "steps": "ropebench steps --html .asv/html             # after asv publish: the site's Steps page",
    "fidelity": "ropebench fidelity --parts agreement,repeat --out docs/fidelity.md",
}

LOG_DIR_ENV = "ROPEBENCH_LOG_DIR"  # where a bug's traceback is written (default: the temp folder)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as for every other user error
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _lazy_parser(argv) -> tuple[argparse.ArgumentParser, object]:
    parser = _Parser(prog="ropebench", description=__doc__.splitlines()[0],
                     epilog="example:\n  ropebench doctor && ropebench run --quick",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ropebench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # Only the chosen command's module is imported (its arguments are needed to parse).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (mod, help_) in COMMANDS.items():
        example = EXAMPLES.get(name)
        p = sub.add_parser(name, help=help_, description=help_,
                           epilog=f"example:\n  {example}" if example else None,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == chosen:
            module = importlib.import_module(mod)
            module.add_arguments(p)
    return parser, module


def _terminate(signum, frame):
    raise KeyboardInterrupt  # a `timeout` or a CI cancel: leave through the same path as Ctrl-C


def log_bug(argv) -> Path:
    """Write the current exception's traceback, the command line and versions to a log file."""
    folder = Path(os.environ.get(LOG_DIR_ENV) or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"ropebench-bug-{stamp}-", suffix=".log", dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write(f"ropebench {__version__}, python {sys.version.split()[0]}\n")
        f.write(f"command: ropebench {' '.join(argv)}\n\n")
        f.write(traceback.format_exc())
    return Path(name)


def _report_bug(argv) -> int:
    exc = sys.exc_info()[1]
    first = (str(exc).strip().splitlines() or [""])[0]
    try:
        where = f"; traceback in {log_bug(argv)}"
    except OSError as log_exc:  # cannot even write the log: print the traceback instead of losing it
        traceback.print_exc()
        where = f"; could not write a log ({log_exc.strerror})"
    print(f"ropebench: internal error (a bug, please report it): {type(exc).__name__}: {first}{where}",
          file=sys.stderr)
    return EXIT_BUG


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    signal.signal(signal.SIGTERM, _terminate)
    # asv's library logs a failed git call's whole output to the root logger, which Python's last-resort
    # handler prints; the commands that call asv say what failed in one line (a RopeBenchError) instead.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    try:
        parser, module = _lazy_parser(argv)
        args = parser.parse_args(argv)
        if module is None:
            parser.print_help()
            return EXIT_ERROR
        return int(module.run(args) or 0)
    except RopeBenchError as exc:
        print(f"ropebench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if not getattr(exc, "filename", None):  # no path named: nothing the user gave us, so a bug
            return _report_bug(argv)
        # a path the user gave: missing folder, a file where a folder belongs, no permission
        print(f"ropebench: error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("ropebench: interrupted (results written so far are kept)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ropebench ... | head`: the reader left; not an error of anyone's
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141
    except Exception:  # noqa: BLE001 - the one place a bug is caught: logged in full, reported as a bug
        return _report_bug(argv)


if __name__ == "__main__":
    sys.exit(main())

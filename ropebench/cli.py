"""The ``ropebench`` command: thin glue. Parse, call the library, print, return an exit code.

Each sub-command lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``
(ropebench/commands/<name>.py; a few still live beside their library and move there in turn);
modules are imported only when their command runs, so ``--help`` and bad flags are instant.
A RopeBenchError becomes one line on stderr and its exit code (2 unless it says otherwise).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from ropebench.errors import EXIT_ERROR, RopeBenchError

# command -> (module, one-line help)
COMMANDS = {
    "run": ("ropebench.commands.run", "time RoPE backends on the seed grid (or one --single point)"),
    "kernel-info": ("ropebench.commands.kernel_info", "print a vLLM checkout's RoPE kernel traits as JSON"),
    "build-kernel": ("ropebench.commands.build_kernel", "build one vLLM commit's RoPE kernel into a wheel"),
    "install-vllm": ("ropebench.commands.install_vllm", "install vLLM's precompiled wheel of one exact commit"),
    "machine": ("ropebench.commands.machine", "write asv's machine file with GPU, driver, CUDA and torch"),
    "compare": ("ropebench.asvtools.compare", "compare two commits' asv results as Markdown; exit 1 on regression"),
    "plan": ("ropebench.plan", "write the commits of a range whose RoPE kernel changed as an asv hash file"),
    "shard": ("ropebench.asvtools.shard", "split a commit range into N asv hash files"),
    "sidecar": ("ropebench.asvtools.annotate", "after asv run: record versions and kernel build beside new results"),
    "steps": ("ropebench.asvtools.steps", "write the site's steps page: each step, its commits and suspects"),
    "merge": ("ropebench.asvtools.merge", "merge asv result folders from several shards"),
    "push-results": ("ropebench.asvtools.results_branch", "commit new asv results to a results branch, safely"),
    "chunks": ("ropebench.asvtools.chunks", "planned commits without results, as hash files of at most N"),
    "health": ("ropebench.health", "check the GPU is fit to measure (processes, clocks, ECC/XID, temperature)"),
    "alert": ("ropebench.asvtools.alert", "title and body of the nightly's regression or failure issue"),
    "fidelity": ("ropebench.commands.fidelity", "check the timer against CUPTI, repeatability and detection power"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as for every other user error
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _lazy_parser(argv) -> tuple[argparse.ArgumentParser, object]:
    parser = _Parser(prog="ropebench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # Only the chosen command's module is imported (its arguments are needed to parse).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (mod, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            module = importlib.import_module(mod)
            module.add_arguments(p)
    return parser, module


def _terminate(signum, frame):
    raise KeyboardInterrupt  # a `timeout` or a CI cancel: leave through the same path as Ctrl-C


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    signal.signal(signal.SIGTERM, _terminate)
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
    except OSError as exc:  # a path the user gave: missing folder, a file where a folder belongs, no permission
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"ropebench: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("ropebench: interrupted (results written so far are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

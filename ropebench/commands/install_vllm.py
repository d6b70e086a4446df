"""``ropebench install-vllm --commit SHA``: vLLM's precompiled wheel of exactly that commit.

Exit 0 when installed, 4 when vLLM published no wheel for the commit (asv skips it), 2 otherwise.
"""

from __future__ import annotations

import sys
import urllib.parse

from ropebench.errors import RopeBenchError
from ropebench.kernels.vllm_wheels import DEFAULT_INDEX, NoWheel, fetch_vllm, install_vllm, stub_wheel


def add_arguments(parser) -> None:
    parser.add_argument("--commit", required=True, metavar="SHA", help="full 40-hex vLLM commit sha")
    parser.add_argument("--find-links", metavar="DIR",
                        help="offline: a folder of wheels (DIR/<sha>/vllm-*.whl or vllm-*+g<sha>*.whl); "
                             "no network is used")
    parser.add_argument("--index-url", default=DEFAULT_INDEX,
                        help=f"base of the per-commit wheel index (default {DEFAULT_INDEX})")
    parser.add_argument("--variant", help="wheel variant folder, e.g. cu130 (default: the index's default)")
    parser.add_argument("--wheel-dir", metavar="DIR",
                        help="only put the wheel into DIR, do not install (asv's build step, wheel mode)")
    parser.add_argument("--stub-if-missing", action="store_true",
                        help="with --wheel-dir: when there is no wheel, write a placeholder wheel that makes the "
                             "vllm backend skip, and exit 0 (asv then records skips instead of failures)")


def _check_index_url(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https", "file") or not (parsed.netloc or parsed.path):
        raise RopeBenchError(f"--index-url must be an http(s):// or file:// URL, got {url!r}")


def run(args) -> int:
    _check_index_url(args.index_url)
    if args.wheel_dir:
        try:
            wheel = fetch_vllm(args.commit, args.wheel_dir, find_links=args.find_links,
                               index_url=args.index_url, variant=args.variant)
        except NoWheel as exc:
            if not args.stub_if_missing:
                raise
            wheel = stub_wheel(args.wheel_dir, args.commit, str(exc))
            print(f"ropebench: {exc}; wrote a placeholder so the vllm backend skips", file=sys.stderr)
            print(wheel)
            return 0
        print(wheel)
        return 0
    if args.stub_if_missing:
        raise RopeBenchError("--stub-if-missing needs --wheel-dir")
    source = install_vllm(args.commit, find_links=args.find_links, index_url=args.index_url,
                          variant=args.variant)
    print(f"ropebench: installed vLLM {args.commit[:12]} from {source} "
          f"into {sys.executable}", file=sys.stderr)
    return 0

"""``ropebench install-vllm --commit SHA``: vLLM's precompiled wheel of exactly that commit.

Exit 0 when installed, 4 when vLLM published no wheel for the commit (asv skips it), 2 otherwise.
"""

from __future__ import annotations

import sys

from ropebench.kernels.vllm_wheels import DEFAULT_INDEX, install_vllm


def add_arguments(parser) -> None:
    parser.add_argument("--commit", required=True, metavar="SHA", help="full 40-hex vLLM commit sha")
    parser.add_argument("--find-links", metavar="DIR",
                        help="offline: a folder of wheels (DIR/<sha>/vllm-*.whl or vllm-*+g<sha>*.whl); "
                             "no network is used")
    parser.add_argument("--index-url", default=DEFAULT_INDEX,
                        help=f"base of the per-commit wheel index (default {DEFAULT_INDEX})")
    parser.add_argument("--variant", help="wheel variant folder, e.g. cu130 (default: the index's default)")


def run(args) -> int:
    source = install_vllm(args.commit, find_links=args.find_links, index_url=args.index_url,
                          variant=args.variant)
    print(f"ropebench: installed vLLM {args.commit[:12]} from {source} "
          f"into {sys.executable}", file=sys.stderr)
    return 0

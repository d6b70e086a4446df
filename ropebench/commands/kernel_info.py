"""``ropebench kernel-info <vllm-checkout>``: one JSON object with the RoPE kernel's traits."""

from __future__ import annotations

import json

from ropebench.kernels.source import KERNEL_PATHS, read_kernel


def add_arguments(parser) -> None:
    parser.add_argument("checkout", help="a vLLM source tree (any commit)")
    parser.add_argument("--device", choices=sorted(KERNEL_PATHS), default="cuda",
                        help="which kernel to describe: the CUDA one (default) or the CPU one "
                             "(what build-kernel --device cpu builds)")


def run(args) -> int:
    src = read_kernel(args.checkout, args.device)  # NoKernel -> exit 5 (EXIT_NO_KERNEL) with one line
    print(json.dumps(src.info(), indent=2))
    return 0

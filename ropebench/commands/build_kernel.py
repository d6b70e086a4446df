"""``ropebench build-kernel <vllm-checkout> --out DIR``: one commit's RoPE kernel as a wheel."""

from __future__ import annotations

import sys

from ropebench.errors import RopeBenchError
from ropebench.kernels.builder import ENV_CACHE, build_kernel
from ropebench.kernels.toolchain import DEVICES


def add_arguments(parser) -> None:
    parser.add_argument("checkout", help="a vLLM source tree (any commit)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder that receives the finished wheel (moved in atomically)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="cuda: the CUDA kernel with nvcc; cpu: the CPU kernel with the host "
                             "compiler; auto (default): cuda when torch sees a GPU, else cpu")
    parser.add_argument("--arch", help="CUDA arch, e.g. 9.0 (default: $TORCH_CUDA_ARCH_LIST, else the "
                                       "local GPU's; required without a GPU for --device cuda)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help=f"build cache (default: ${ENV_CACHE}, else ~/.cache/ropebench/kernels)")
    parser.add_argument("--no-cache", action="store_true", help="always compile; do not read or fill the cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="stream the compiler output to stderr")


def run(args) -> int:
    try:
        result = build_kernel(args.checkout, args.out, device=args.device, arch=args.arch,
                              cache_dir=args.cache_dir, use_cache=not args.no_cache, verbose=args.verbose)
    except OSError as exc:  # an unwritable --out or cache folder, a full disk: the user's to fix
        raise RopeBenchError(f"build-kernel: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
    info = result.info
    how = "from cache" if result.cached else f"compiled in {result.seconds:.1f} s"
    print(f"ropebench: {info['kernel']} ({info['abi']} ABI, {info['device']}"
          f"{', arch ' + info['arch'] if info['device'] == 'cuda' else ''}) {how}; "
          f"op torch.ops.{info['namespace']}.{info['op']}", file=sys.stderr)
    if result.log:
        print(f"ropebench: compiler log: {result.log}", file=sys.stderr)
    print(result.wheel)
    return 0

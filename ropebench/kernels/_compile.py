"""Child process of the builder: compile and load one extension with torch.utils.cpp_extension.

Run as ``python -m ropebench.kernels._compile SPEC.json``. Loading the library here (load() does)
proves it links and registers its op, without touching the builder's own process.
"""

import json
import sys


def main(spec_path: str) -> int:
    from torch.utils.cpp_extension import load

    spec = json.loads(open(spec_path).read())
    path = load(is_python_module=False, verbose=True, **spec)
    print(f"ropebench: built and loaded {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

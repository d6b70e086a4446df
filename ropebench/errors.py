"""One exception type for problems a user can cause.

The CLI prints its one-line message and exits with its ``exit_code``; the asv suite turns it
into a skip or a recorded failure on purpose. Everything else is a bug and keeps its traceback.
"""

EXIT_ERROR = 2  # bad input, missing GPU, failed step
EXIT_NO_KERNEL = 3  # kernel-info / build-kernel: no RoPE kernel, or a signature we cannot parse
EXIT_NO_WHEEL = 4  # install-vllm: vLLM published no wheel for that commit (a skip, not a failure)


class RopeBenchError(ValueError):
    """A user-facing error with a one-line message.

    It subclasses ValueError so that ``apply_rope`` honours the documented contract
    ("raises ValueError for inconsistent shapes") with the same message the CLI prints.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None):
        # Keep the message to one line: the CLI prints it as is.
        super().__init__(" ".join(str(message).split()))
        if exit_code is not None:
            self.exit_code = exit_code


def is_cuda_fault(reason: str) -> bool:
    """A CUDA error in a failure's reason. It is sticky: nothing more can run in that process's CUDA
    context, so ropebench run stops and the measurement server leaves for a fresh one."""
    return "CUDA error" in (reason or "")


class Unsupported(RopeBenchError):
    """A backend cannot run this workload (dtype, style, device, era). Reported as a skip."""

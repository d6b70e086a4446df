"""One exception type for problems a user can cause, and the exit codes of every command.

The CLI prints its one-line message and exits with its ``exit_code``; the asv suite turns it
into a skip or a recorded failure on purpose. Everything else is a bug: the CLI logs its traceback
to a file, prints one line naming the error and that file, and exits EXIT_BUG.

Exit codes (README "Exit codes"; asv's build step only needs non-zero for a failed build):
0 done; 1 done, and the result is bad (a regression, an incorrect backend, doctor: no GPU run possible);
2 the user's input or machine is wrong; 3 a bug of ropebench; 4 install-vllm: no wheel for that commit;
5 kernel-info / build-kernel: no RoPE kernel, or a signature we cannot parse.
"""

EXIT_ERROR = 2  # bad input, missing GPU, failed step
EXIT_BUG = 3  # an unexpected exception: a bug of ours, never a user's mistake
EXIT_NO_WHEEL = 4  # install-vllm: vLLM published no wheel for that commit (a skip, not a failure)
EXIT_NO_KERNEL = 5  # kernel-info / build-kernel: no RoPE kernel, or a signature we cannot parse


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

"""asv environment type ``ropebench``: a virtualenv that reuses the runner's torch/CUDA stack.

Installing torch (GBs) per asv environment is slow and, on an offline GPU runner, impossible. This
environment is an ordinary virtualenv for the built kernel wheel, plus a ``.pth`` file that appends
the site-packages of the interpreter running asv (and its PYTHONPATH entries). The runner's own
python is often itself a venv, where ``--system-site-packages`` would only expose the *base*
interpreter's packages, and torch would go missing; the ``.pth`` sees the venv's.

Nothing is downloaded: asv's own runner, torch and ropebench come from the runner's interpreter,
so environment creation works offline. The kernel wheel is installed with ``--no-deps``.
Enable with ``"plugins": [".ropebench.asvtools.env_plugin"]`` and
``"environment_type": "ropebench"`` in asv.conf.json.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

from asv import util
from asv.console import log
from asv.plugins.virtualenv import Virtualenv

PTH_NAME = "ropebench-runner-site.pth"


def runner_site_dirs() -> list[str]:
    """Directories whose packages the environment should see, in the runner's priority order."""
    dirs = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    dirs += site.getsitepackages()
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    # ropebench itself, also when it runs from a source checkout rather than site-packages.
    import ropebench

    dirs.append(str(Path(ropebench.__file__).resolve().parent.parent))
    seen, out = set(), []
    for d in dirs:
        d = os.path.abspath(d)
        if d not in seen and os.path.isdir(d):
            seen.add(d)
            out.append(d)
    return out


class RopebenchEnvironment(Virtualenv):
    tool_name = "ropebench"

    @staticmethod
    def _find_python(python):
        # The runner's interpreter, whose packages the environment extends.
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return sys.executable if python in (version, str(sys.version_info[0])) else None

    @classmethod
    def matches(cls, python):
        return cls._find_python(python) is not None

    def _setup(self):
        log.info(f"Creating virtualenv for {self.name} on the runner's python ({sys.executable})")
        util.check_call([sys.executable, "-m", "virtualenv", "--setuptools=bundle", "--no-periodic-update",
                         "-p", self._executable, self._path], env=dict(os.environ, **self.build_env_vars))
        self._install_requirements()

    def _install_requirements(self):
        # No downloads: link the runner's site directories instead.
        out = self.run(["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        purelib = Path(out.strip().splitlines()[-1])
        lines = [f"import site; site.addsitedir({d!r})" for d in runner_site_dirs()]
        (purelib / PTH_NAME).write_text("\n".join(lines) + "\n")
        log.info(f"{self.name} sees the runner's packages from {len(lines)} folder(s)")

"""install-vllm against a local folder and a local HTTP index (127.0.0.1) serving small wheels made
here: exact-sha selection, every index layout vLLM has used, the no-wheel skip (exit 4), offline."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ropebench.kernels.vllm_wheels import LEGACY_WHEEL
from ropebench.kernels.wheel import platform_tag, write_wheel

from .kernel_helpers import cli, throwaway_venv

SHAS = {name: (c * 40) for name, c in
        (("flat", "a"), ("twin", "b"), ("meta", "c"), ("html", "d"), ("legacy", "e"), ("variant", "f"))}
MISSING = "0123456789" * 4


def fake_vllm(dest: Path, sha: str, version: str | None = None, python_abi="cp38-abi3", tag=None) -> Path:
    """A tiny 'vllm' wheel whose package says which commit it is."""
    version = version or f"0.9.1+g{sha[:9]}"
    files = {"vllm/__init__.py": f'COMMIT = "{sha}"\n__version__ = "{version}"\n'.encode()}
    return write_wheel(dest, "vllm", version, files, summary="test stand-in for vLLM", dist="vllm",
                       tag=tag or platform_tag(), python_abi=python_abi)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return throwaway_venv(tmp_path_factory.mktemp("venv") / "v")


def installed_commit(py) -> str:
    return subprocess.run([str(py), "-c", "import vllm; print(vllm.COMMIT)"], capture_output=True,
                          text=True).stdout.strip()


def install(py, *args):
    return cli("install-vllm", *args, python=str(py))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("wheels")
    fake_vllm(d, SHAS["flat"])
    # Same version prefix, other commit: only the +g<sha> tells them apart.
    fake_vllm(d, SHAS["twin"])
    sub = d / SHAS["legacy"]
    built = fake_vllm(sub, SHAS["legacy"], version="1.0.0.dev", tag="manylinux1_x86_64")
    built.rename(sub / LEGACY_WHEEL)
    return d


def test_folder_exact_sha(venv, folder):
    for name in ("flat", "twin", "legacy"):
        proc = install(venv, "--commit", SHAS[name], "--find-links", folder,
                       "--index-url", "http://127.0.0.1:9")  # never contacted
        assert proc.returncode == 0, proc.stderr
        assert installed_commit(venv) == SHAS[name]


def test_folder_no_wheel_is_exit_4(venv, folder):
    proc = install(venv, "--commit", MISSING, "--find-links", folder)
    assert proc.returncode == 4
    assert len(proc.stderr.strip().splitlines()) == 1 and "no vLLM wheel" in proc.stderr


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    # metadata.json layout (the wheel sits in /<sha>/, metadata in /<sha>/vllm/), '+' as %2B.
    sha = SHAS["meta"]
    whl = fake_vllm(root / sha, sha)
    (root / sha / "vllm").mkdir()
    (root / sha / "vllm" / "metadata.json").write_text(json.dumps([
        {"package_name": "vllm", "platform_tag": "manylinux_2_28_aarch64", "path": "../nope-aarch64.whl"},
        {"package_name": "vllm", "platform_tag": platform_tag(), "path": "../" + whl.name.replace("+", "%2B")},
    ]))
    # index.html layout.
    sha = SHAS["html"]
    whl = fake_vllm(root / sha, sha)
    (root / sha / "index.html").write_text(f'<html><body><a href="{whl.name.replace("+", "%2B")}">'
                                           f'{whl.name}</a></body></html>')
    # The early fixed file name.
    sha = SHAS["legacy"]
    built = fake_vllm(root / sha, sha, version="1.0.0.dev", tag="manylinux1_x86_64")
    built.rename(root / sha / LEGACY_WHEEL)
    # A variant folder.
    sha = SHAS["variant"]
    whl = fake_vllm(root / sha / "cu130", sha)
    (root / sha / "cu130" / "vllm").mkdir()
    (root / sha / "cu130" / "vllm" / "metadata.json").write_text(json.dumps(
        [{"package_name": "vllm", "platform_tag": platform_tag(), "path": "../" + whl.name}]))

    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("name", ["meta", "html", "legacy"])
def test_http_index_exact_sha(venv, index, name):
    proc = install(venv, "--commit", SHAS[name], "--index-url", index)
    assert proc.returncode == 0, proc.stderr
    assert installed_commit(venv) == SHAS[name]


def test_http_index_variant(venv, index):
    proc = install(venv, "--commit", SHAS["variant"], "--index-url", index, "--variant", "cu130")
    assert proc.returncode == 0, proc.stderr
    assert installed_commit(venv) == SHAS["variant"]


def test_http_index_no_wheel_is_exit_4(venv, index):
    proc = install(venv, "--commit", MISSING, "--index-url", index)
    assert proc.returncode == 4, proc.stderr
    assert "no wheel for commit" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_unreachable_index_is_a_failure_not_a_skip(venv):
    proc = install(venv, "--commit", MISSING, "--index-url", "http://127.0.0.1:9")
    assert proc.returncode == 2 and "cannot reach" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", ["abc123", "main", "A" * 40 + "0"])
def test_bad_sha_is_exit_2(venv, bad):
    proc = install(venv, "--commit", bad, "--find-links", ".")
    assert proc.returncode == 2 and "40-hex" in proc.stderr


def test_installed_vllm_is_what_the_backend_finds(venv, folder):
    assert install(venv, "--commit", SHAS["flat"], "--find-links", folder).returncode == 0
    out = subprocess.run([str(venv), "-c", "from ropebench.kernels.loader import find_op; "
                          "op, why = find_op(); print(op.source, op.info.get('version'))"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["vllm", f"0.9.1+g{SHAS['flat'][:9]}"], out.stderr


def test_wheel_dir_fetches_exactly_one_wheel_for_asv(venv, folder, tmp_path):
    out = tmp_path / "cache"
    proc = install(venv, "--commit", SHAS["twin"], "--find-links", folder, "--wheel-dir", out)
    assert proc.returncode == 0, proc.stderr
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1 and SHAS["twin"][:7] in wheels[0].name  # asv's {wheel_file} needs exactly one


def test_missing_wheel_stub_makes_the_vllm_backend_skip(venv, folder, tmp_path):
    out = tmp_path / "cache"
    proc = install(venv, "--commit", MISSING, "--find-links", folder, "--wheel-dir", out, "--stub-if-missing")
    assert proc.returncode == 0, proc.stderr
    (stub,) = out.glob("*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, stub], check=True)
    code = ("from ropebench.backends import get_backend; ok, why = get_backend('vllm').available('cuda'); "
            "print(ok, why)")
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    env.pop("ROPEBENCH_VLLM_OP", None)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.stdout.startswith("False") and "no vLLM wheel for commit" in p.stdout, p.stdout + p.stderr
    bad = install(venv, "--commit", MISSING, "--stub-if-missing")
    assert bad.returncode == 2 and "needs --wheel-dir" in bad.stderr

"""The era fixture trees are exactly what tests/fixtures/vllm_eras/generate.py writes (one stand-in
kernel, one row per era): a hand edit to a committed tree fails here, and so does a generator change
whose trees were not rewritten."""

import shutil
import subprocess
import sys

from tests.conftest import ERAS_DIR

GENERATE = ERAS_DIR / "generate.py"


def test_committed_trees_match_the_generator():
    p = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_check_names_a_file_that_differs(tmp_path):
    copy = tmp_path / "vllm_eras"
    shutil.copytree(ERAS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    kernel = copy / "e3" / "csrc" / "pos_encoding_kernels.cu"
    kernel.write_text(kernel.read_text() + "// a hand edit\n")
    (copy / "e6" / "csrc" / "stray.h").write_text("// not the generator's\n")
    p = subprocess.run([sys.executable, str(copy / "generate.py"), "--check"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1
    assert "e3/csrc/pos_encoding_kernels.cu" in p.stderr and "e6/csrc/stray.h" in p.stderr
    assert kernel.read_text().endswith("// a hand edit\n")  # --check writes nothing
    subprocess.run([sys.executable, str(copy / "generate.py")], check=True, capture_output=True, timeout=120)
    assert subprocess.run([sys.executable, str(copy / "generate.py"), "--check"], timeout=120).returncode == 0
    assert not (copy / "e6" / "csrc" / "stray.h").exists()


def test_one_stand_in_kernel_without_template_leftovers():
    for cu in ERAS_DIR.glob("e*/**/pos_encoding_kernels.cu"):
        text = cu.read_text()
        assert "true ?" not in text and "false ?" not in text, cu
        assert text.count("__global__ void rope_kernel(") == 1, cu

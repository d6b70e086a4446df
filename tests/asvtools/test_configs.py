"""Both asv configurations load with asv's own loader and agree where they should."""


import pytest

from tests.conftest import REPO as ROOT

asv_config = pytest.importorskip("asv.config")


@pytest.mark.parametrize("name", ["asv.conf.json", "asv.wheels.conf.json"])
def test_config_loads(name):
    conf = asv_config.Config.load(str(ROOT / name))
    assert conf.repo == "https://github.com/vllm-project/vllm.git"
    assert conf.project == "vllm" and conf.branches == ["main"]
    assert conf.environment_type == "ropebench"
    # kernel mode forks its points (no torch in them); wheel mode keeps spawn
    assert conf.launch_method == ("forkserver" if name == "asv.conf.json" else "spawn")
    assert conf.install_timeout >= 1200 and conf.show_commit_url.endswith("/commit/")
    assert any("{wheel_file}" in c and "--no-deps" in c for c in conf.install_command)


def test_kernel_mode_and_wheel_mode_keep_results_apart():
    kernel = asv_config.Config.load(str(ROOT / "asv.conf.json"))
    wheels = asv_config.Config.load(str(ROOT / "asv.wheels.conf.json"))
    assert "build-kernel" in kernel.build_command[0] and "{build_cache_dir}" in kernel.build_command[0]
    assert "install-vllm --commit {commit}" in wheels.build_command[0]
    assert kernel.results_dir != wheels.results_dir and kernel.env_dir != wheels.env_dir

"""tests/fixtures/vllm_eras/fixture_repo.py (fixture vLLM histories), importable from any test as
``from tests.era_fixtures import fixture_repo``: the fixture folder is data, not a package."""

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parent / "fixtures" / "vllm_eras" / "fixture_repo.py"
_spec = importlib.util.spec_from_file_location("vllm_fixture_repo", _PATH)
fixture_repo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture_repo)

"""asv configuration files: read with asv's own loaders, paths resolved as asv resolves them, and
derived configs (throwaway runs, shards) written with asv's ``write_json``."""

from __future__ import annotations

from pathlib import Path

from ropebench.errors import RopeBenchError

DEFAULT_CONF = "asv.conf.json"


def load_conf(path: str | None):
    """asv's Config, or None when no --conf was given and there is no asv.conf.json here."""
    from asv.config import Config
    from asv.util import UserError

    if path is None:
        if not Path(DEFAULT_CONF).is_file():
            return None
        path = DEFAULT_CONF
    try:
        conf = Config.load(path)
    except UserError as exc:
        raise RopeBenchError(str(exc).splitlines()[0]) from None
    except ValueError as exc:  # malformed JSON
        raise RopeBenchError(f"cannot read {path}: {exc}") from None
    # asv chdirs to the config's folder, so its relative paths are relative to that folder.
    conf.conf_dir = Path(path).resolve().parent
    conf.source_name = Path(path).name
    return conf


def conf_path(conf, value) -> Path:
    """A path from the asv config, resolved as asv does: against the config file's folder."""
    return Path(getattr(conf, "conf_dir", ".")) / value


def results_dir_of(args, conf) -> Path:
    """--results if given, else the config's results_dir."""
    if args.results:
        return Path(args.results)
    if conf is None:
        raise RopeBenchError(f"no --results and no {DEFAULT_CONF} here: say where the asv results are")
    return conf_path(conf, conf.results_dir)


def local_repo(conf, clone: bool = False):
    """asv's Git object for the benchmarked repo: the repo itself when local, else asv's mirror
    (<config folder>/<project>). Without clone, None when neither is on disk."""
    from asv.plugins.git import Git

    repo = str(conf_path(conf, conf.repo)) if Git.is_local_repo(str(conf_path(conf, conf.repo))) else conf.repo
    mirror = str(conf_path(conf, conf.project))
    if not clone and not (Git.is_local_repo(repo) or Git.is_local_repo(mirror)):
        return None
    return Git(repo, mirror)


def benchmarked_repo(conf, repo_path: str | None):
    """The repository to list commits from: --repo when given, else asv's own (its mirror is cloned if
    missing, as asv run would)."""
    from asv.plugins.git import Git
    from asv.util import ProcessError, UserError

    try:
        if repo_path:
            if not Git.is_local_repo(repo_path):
                raise RopeBenchError(f"{repo_path} is not a git repository")
            return Git(repo_path, repo_path)
        if conf is None:
            raise RopeBenchError("no --repo and no asv config: say which repository to list commits from")
        return local_repo(conf, clone=True)
    except (ProcessError, UserError) as exc:
        raise RopeBenchError(f"cannot open the benchmarked repository: {str(exc).splitlines()[0]}") from None


def read_json(path) -> dict:
    """An asv config as a dict, ``//`` comments allowed (asv's own reader)."""
    from asv.util import load_json

    try:
        return load_json(str(path), js_comments=True)
    except Exception as exc:  # noqa: BLE001 - asv raises several types for unreadable JSON
        raise RopeBenchError(f"cannot read {path}: {exc}") from None


def write_json(path, conf: dict) -> Path:
    """Write an asv config with asv's writer (comments are not kept: a derived config needs none)."""
    from asv.util import write_json as asv_write_json

    asv_write_json(str(path), conf)
    return Path(path)


def derived_conf(source, dest, **overrides) -> Path:
    """A copy of the asv config ``source`` with some keys replaced, written to ``dest``; the benchmark
    folder stays the source's own unless replaced."""
    source = Path(source)
    conf = read_json(source)
    conf["benchmark_dir"] = str((source.parent / conf.get("benchmark_dir", "benchmarks")).resolve())
    conf.update(overrides)
    return write_json(dest, conf)

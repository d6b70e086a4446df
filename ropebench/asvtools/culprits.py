"""Suspects for a change between two results: what could have caused it.

- **commits**: those in (BASE, HEAD] whose kernel build key changed (``ropebench plan`` over asv's
  clone of the benchmarked repository);
- **toolchain**: any difference between the two results' kernel build records (torch, its CUDA,
  nvcc, arch, ropebench's builder), read from each result's sidecar (``ropebench sidecar`` copies the
  wheel's build.json there after the run). Two results measured on different nights can differ by
  toolchain alone;
- **versions**: the sidecar's package versions (FlashInfer, ropebench, torch...), which explain a
  control series (torch, FlashInfer points do not depend on the vLLM commit) that moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ropebench.asvtools import sidecar
from ropebench.errors import RopeBenchError

# build.json fields that make two builds of the same source differ.
TOOLCHAIN = ("torch", "torch_cuda", "cuda", "arch", "builder_version", "abi", "python")


@dataclass
class Suspects:
    base: str
    head: str
    commits: list[dict] = field(default_factory=list)  # {"commit", "subject"}, newest first
    toolchain: list[tuple[str, object, object]] = field(default_factory=list)
    versions: list[tuple[str, object, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def named(self) -> bool:
        return bool(self.commits or self.toolchain or self.versions)


def result_file(results_dir, machine: str, commit: str) -> Path | None:
    """The result file of commit on machine (the first env's when several)."""
    hits = sorted((Path(results_dir) / machine).glob(f"{commit[:8]}-*.json"))
    return hits[0] if hits else None


def differences(a: dict, b: dict, keys=None) -> list[tuple[str, object, object]]:
    keys = keys or sorted(set(a) | set(b))
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


def kernel_commits(repo_path, base: str, head: str, device: str = "cuda") -> list[dict]:
    """Commits in (base, head] whose kernel build key changed, newest first, with their subject."""
    from ropebench.kernels.gittree import git
    from ropebench.plan import plan

    result = plan(repo_path, f"{base}..{head}", device=device)
    shas = [s for s in result.hashes if "kernel-changed" in result.selected[s]["reasons"]]
    out = []
    for sha in shas:
        subject = git(repo_path, "log", "-1", "--format=%s", sha).strip()
        out.append({"commit": sha, "subject": subject})
    return out


def find(results_dir, machine: str, base: str, head: str, repo_path=None) -> Suspects:
    """Suspects for a change from base to head (full hashes) on machine."""
    s = Suspects(base=base, head=head)
    side = {}
    for name, commit in (("base", base), ("head", head)):
        path = result_file(results_dir, machine, commit)
        side[name] = sidecar.read(path) if path else {}
    builds = [side[n].get("build") for n in ("base", "head")]
    if all(builds):
        s.toolchain = differences(*builds, keys=TOOLCHAIN)
    else:
        missing = [n for n, b in zip(("base", "head"), builds) if not b]
        s.notes.append(f"no kernel build record for {' and '.join(missing)} (run `ropebench sidecar` after "
                       "`asv run`): toolchain not compared")
    vers = [side[n].get("versions") for n in ("base", "head")]
    if all(vers):
        s.versions = differences(*vers)
    device = (builds[1] or builds[0] or {}).get("device") or "cuda"
    if repo_path is None:
        s.notes.append("asv's clone of the benchmarked repository is not on disk: commits not listed")
    else:
        try:
            s.commits = kernel_commits(repo_path, base, head, device)
        except RopeBenchError as exc:
            s.notes.append(f"commits not listed: {exc}")
    return s


def asv_clone_path(conf) -> str | None:
    """asv's clone of the benchmarked repo, when it is on disk (never cloned here)."""
    if conf is None:
        return None
    from ropebench.asvtools.config import local_repo

    try:
        repo = local_repo(conf)
    except Exception:  # noqa: BLE001 - asv raises several types for a broken mirror
        return None
    return repo._path if repo is not None else None


def _fmt(v) -> str:
    return "—" if v is None else f"`{v}`"


def render_markdown(s: Suspects, heading: str = "### Suspects") -> str:
    lines = [heading, ""]
    lines.append(f"Commits in (`{s.base[:8]}`, `{s.head[:8]}`] whose kernel build key changed:")
    if s.commits:
        lines += [f"- `{c['commit'][:12]}` {c['subject']}" for c in s.commits]
    else:
        lines.append("- none" + ("" if not any("commits not listed" in n or "not on disk" in n for n in s.notes)
                                 else " found (see below)"))
    lines.append("")
    if s.toolchain:
        lines += ["Toolchain (kernel build record) differs:", "", "| field | base | head |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(a)} | {_fmt(b)} |" for k, a, b in s.toolchain]
        lines.append("")
    if s.versions:
        lines += ["Package versions differ:", "", "| package | base | head |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(a)} | {_fmt(b)} |" for k, a, b in s.versions]
        lines.append("")
    if not s.toolchain and not s.versions and not any("toolchain not compared" in n for n in s.notes):
        lines += ["Toolchain and package versions: the same on both sides.", ""]
    lines += [f"_{n}._" for n in s.notes]
    return "\n".join(lines).rstrip() + "\n"


def section(cmp, conf, results_dir) -> str:
    """The Markdown section `ropebench compare` appends when a row regressed; "" otherwise."""
    if not any(r.status == "regressed" for r in cmp.rows):
        return ""
    s = find(results_dir, cmp.machine, cmp.base, cmp.head, asv_clone_path(conf))
    return "\n" + render_markdown(s)

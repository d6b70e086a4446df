"""The whole asv flow on a CPU, in a few minutes, with nothing but the venv: `make demo`.

1. builds a small history in vLLM's layout (tests/fixtures/vllm_eras: our own stand-in kernels) with a
   docs-only commit, a kernel 8x slower (the regression) and its fix;
2. `ropebench plan` picks the commits whose kernel changed (the docs-only one is left out);
3. `asv run` over them: asv builds each commit's CPU kernel through `ropebench build-kernel` and times a
   small selection of the suite through the measurement server; `ropebench sidecar` records versions and
   each commit's kernel build record beside the results;
4. `ropebench compare` finds the regression (exit 1 is the expected answer);
5. `asv publish` writes the site, and the script prints where it is and how to preview it.

Everything lands in --out (default out/demo); a re-run starts a new history there and keeps the asv
environment and the kernel cache, so it is faster.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "demo"
PROGRESS = re.compile(r"^(\[\s*[\d.]+%\] )?·+ ")  # asv's progress lines (not its result tables)
# asv's own selection (-b, a regex over benchmark names): both CPU backends at two sizes, and accuracy.
SELECT = [r"rope\.RoPE\.time_rope\('(torch|vllm)', 'neox', 1, (64|256), 32\)",
          r"accuracy\.RoPEAccuracy\.track_rel_l2_error\('vllm', 'neox', 'float32'\)"]


def fixture_module():
    path = ROOT / "tests/fixtures/vllm_eras/fixture_repo.py"
    spec = importlib.util.spec_from_file_location("vllm_fixture_repo", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def step(n: int, text: str) -> None:
    print(f"\n== {n}/5 {text}", flush=True)


def make_history(repo: Path) -> dict[str, str]:
    """Commits, oldest first: start (no kernel yet), base, docs-only, slow (the regression), fix."""
    fx = fixture_module()
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README.md").write_text("a vLLM-shaped demo history\n")
    shas = {"start": commit(repo, "start: no kernel yet")}
    shas["base"] = fx.make_fixture_repo(repo, [(fx.CPU_ERA, 1)])[0]
    (repo / "README.md").write_text("a vLLM-shaped demo history, with docs\n")
    shas["docs"] = commit(repo, "docs only: the kernel is unchanged")
    fx.set_passes(repo, fx.SLOW_PASSES)
    shas["slow"] = commit(repo, f"slow kernel: every head rotated {fx.SLOW_PASSES} times (the regression)")
    fx.set_passes(repo, 1)
    shas["fix"] = commit(repo, "fix: one pass again")
    return shas


def commit(repo: Path, message: str) -> str:
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=demo", "-c",
                               "user.email=demo@ropebench.invalid", "-c", "commit.gpgsign=false", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", message)
    return git("rev-parse", "HEAD")


def write_conf(out: Path, repo: Path) -> Path:
    from asv.util import load_json

    conf = load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    conf.update(repo=str(repo), branches=["main"], benchmark_dir=str(ROOT / "benchmarks"),
                env_dir=str(out / "env"), results_dir=str(out / "results"), html_dir=str(out / "html"),
                show_commit_url="")
    path = out / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=1))
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/demo", help="working folder (default out/demo)")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    t0 = time.perf_counter()
    for stale in ("vllm", "results", "html", "planned.txt"):  # a new history; env and kernel cache are kept
        path = out / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    home = out / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home), ROPEBENCH_CACHE=str(out / "kernel-cache"), ROPEBENCH_DEVICE="cpu",
               ASV_MACHINE_FILE=str(home / ".asv-machine.json"))
    env.pop("ROPEBENCH_VLLM_OP", None)
    py = sys.executable

    def run(*cmd, ok=(0,), quiet=False):
        """Run a step; quiet: keep its stdout (returned) off the console."""
        proc = subprocess.run([str(c) for c in cmd], cwd=out, env=env, text=True,
                              stdout=subprocess.PIPE if quiet else None)
        if proc.returncode not in ok:
            print(f"demo: `{' '.join(map(str, cmd))}` exited {proc.returncode}", file=sys.stderr)
            sys.exit(1)
        return proc.returncode, proc.stdout

    step(1, f"a vLLM-shaped history of five commits in {out / 'vllm'}")
    shas = make_history(out / "vllm")
    for name, sha in shas.items():
        print(f"  {sha[:8]} {name}")
    conf = write_conf(out, out / "vllm")
    run(py, "-m", "ropebench", "machine", "--machine", MACHINE, "--file", home / ".asv-machine.json", quiet=True)

    step(2, "ropebench plan: the commits whose kernel changed")
    hashfile = out / "planned.txt"
    run(py, "-m", "ropebench", "plan", out / "vllm", f"{shas['start']}..main", "--device", "cpu",
        "--out", hashfile, quiet=True)
    planned = hashfile.read_text().split()
    print(f"  {len(planned)} of the {len(shas) - 1} commits after start: "
          + ", ".join(n for n, s in shas.items() if s in planned) + f" ({hashfile})")

    step(3, "asv run over the planned commits (CPU kernels built by ropebench build-kernel)")
    select = sum((["-b", s] for s in SELECT), [])
    log = out / "asv-run.log"
    with log.open("w") as f:  # asv's progress lines here; its tables of every parameter only in the log
        proc = subprocess.Popen([py, "-m", "asv", "run", f"HASHFILE:{hashfile}", "--config", str(conf),
                                 "--machine", MACHINE, "--record-samples", *select], cwd=out, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            f.write(line)
            if PROGRESS.match(line) and "===" not in line:
                print("  " + line.rstrip(), flush=True)
    if proc.wait():
        print(f"demo: asv run exited {proc.returncode}; its output is in {log}", file=sys.stderr)
        return 1
    # Versions and each commit's kernel build record beside the results, for compare's suspects.
    run(py, "-m", "ropebench", "sidecar", "--conf", conf, "--all", quiet=True)

    factor = fixture_module().CPU_FACTOR  # shared CPUs are noisy: see fixture_repo.SLOW_PASSES
    step(4, f"ropebench compare base slow (factor {factor}): exit 1 means it found the regression")
    common = ["--results", out / "results", "--machine", MACHINE, "--factor", factor, "--conf", conf]
    found, markdown = run(py, "-m", "ropebench", "compare", shas["base"], shas["slow"], *common,
                          "--markdown", out / "compare.md", ok=(0, 1), quiet=True)
    print(markdown.split("<details>")[0].rstrip())  # the verdict and the regressed rows; the rest is in the file
    if "### Suspects" in markdown:  # the commits in (base, slow] whose kernel changed
        print("\n### Suspects" + markdown.split("### Suspects", 1)[1].rstrip())
    if found != 1:
        print("demo: compare did not flag the slow kernel", file=sys.stderr)
        return 1

    step(5, "asv publish: the site")
    run(py, "-m", "asv", "publish", "--config", conf, quiet=True)
    bindir = Path(py).parent
    print(f"\ndemo done in {time.perf_counter() - t0:.0f} s. The regression: {out / 'compare.md'}")
    print(f"site: {out / 'html' / 'index.html'}")
    print(f"preview it: {bindir / 'asv'} preview --config {conf}   (then open http://127.0.0.1:8080)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

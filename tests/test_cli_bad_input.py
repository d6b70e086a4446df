"""Every subcommand answers bad input with one line on stderr and exit 2, before any work starts.

In-process through cli.main() (a subprocess would add only interpreter start-up). Placeholders:
{tmp} an empty folder, {file} a plain file, {json} a corrupt JSON file, {repo} a git repository whose
only branch is main, {sha} a well-formed commit sha.
"""

from __future__ import annotations

import subprocess

import pytest
import torch

from ropebench import cli
from ropebench.errors import EXIT_BUG, EXIT_ERROR

SHA = "0123456789abcdef0123456789abcdef01234567"
ONE = ["run", "--device", "cpu", "--single"]

BAD = [
    # run: the workload
    (ONE + ["--rotary-dim", "33"], "rotary_dim must be even"),
    (ONE + ["--rotary-dim", "0"], "rotary_dim must be a positive integer"),
    (ONE + ["--rotary-dim", "256"], "must not exceed head_size"),
    (ONE + ["--num-heads", "32", "--num-kv-heads", "5"], "divisible by num_kv_heads"),
    (ONE + ["--num-kv-heads", "0"], "num_kv_heads must be a positive integer"),
    (ONE + ["--dtype", "int8"], "unknown dtype"),
    (ONE + ["--dtype", ""], "unknown dtype"),
    (ONE + ["--batch-size", "-4"], "batch_size must be a positive integer"),
    (ONE + ["--head-size", "-128"], "head_size must be a positive integer"),
    (ONE + ["--head-size", "0"], "head_size must be a positive integer"),
    (ONE + ["--max-position", "0"], "max_position must be a positive integer"),
    (ONE + ["--seq-len", "abc"], "invalid int value"),
    (ONE + ["--is-neox-style", "maybe"], "expected true or false"),
    (["run", "--device", "npu:0"], "unknown device"),
    (["run", "--device", "cuda:x"], "unknown device"),
    # run: backends, styles and the grid
    (ONE + ["--backends", "triton"], "unknown backend"),
    (ONE + ["--backends", "torch,torch"], "--backends names torch more than once"),
    (ONE + ["--backends", ","], "--backends is empty"),
    (ONE + ["--styles", ","], "--styles is empty"),
    (ONE + ["--styles", "neox,neox"], "--styles names neox more than once"),
    (ONE + ["--styles", "rotate"], "unknown RoPE style"),
    (ONE + ["--grid-batch", "1,x"], "comma-separated integers"),
    (ONE + ["--grid-seq-len", ","], "--grid-seq-len is empty"),
    (ONE + ["--grid-heads", "32,32"], "--grid-heads names 32 more than once"),
    (["run", "--device", "cpu", "--grid-batch", "0"], "batch_size must be a positive integer"),
    (ONE + ["--quick"], "give one of them"),
    # run: sizes that cannot fit (estimated from the byte model), samples, threads, the save path
    (ONE + ["--batch-size", "100000000"], "free; lower --batch-size"),
    (["run", "--device", "cpu", "--grid-batch", "1,1000000"], "free; lower the --grid-* values"),
    (ONE + ["--samples", "0"], "--samples must be at least 1"),
    (ONE + ["--samples", "-5"], "--samples must be at least 1"),
    (ONE + ["--threads", "0"], "--threads must be at least 1"),
    (ONE + ["--save-path", ""], "--save-path is empty"),
    (ONE + ["--save-path", "{file}"], "is a file; give a folder"),
    (ONE + ["--save-path", "{file}/sub"], "is a file, not a folder"),
    (ONE + ["--save-path", "{tmp}/has-latest-folder"], "is not a link to a run"),
    (ONE + ["--no-such-flag"], "unrecognized arguments"),
    (ONE + ["--vllm-op", "{tmp}/missing"], "no usable build.json"),
    (ONE + ["--vllm-op", "{tmp}"], "no usable build.json"),
    # kernel-info / build-kernel / install-vllm
    (["kernel-info", "{tmp}/missing"], "not a folder"),
    (["kernel-info", "{file}"], "not a folder"),
    (["kernel-info"], "the following arguments are required: checkout"),
    (["kernel-info", "{tmp}", "--device", "gpu"], "invalid choice"),
    (["build-kernel", "{tmp}/missing", "--out", "{tmp}/w"], "not a folder"),
    (["build-kernel", "{repo}"], "the following arguments are required: --out"),
    (["build-kernel", "{repo}", "--out", "{file}"], "must be a folder, not a file"),
    (["build-kernel", "{repo}", "--out", "{tmp}/w", "--device", "tpu"], "invalid choice"),
    (["install-vllm", "--commit", "abc"], "40-hex"),
    (["install-vllm"], "the following arguments are required: --commit"),
    (["install-vllm", "--commit", SHA, "--index-url", "not-a-url"], "--index-url must be an http(s)://"),
    (["install-vllm", "--commit", SHA, "--stub-if-missing"], "--stub-if-missing needs --wheel-dir"),
    (["install-vllm", "--commit", SHA, "--find-links", "{tmp}/missing"], "--find-links folder does not exist"),
    # machine / compare
    (["machine", "--machine", "bad name!"], "may hold only letters"),
    (["machine", "--file", "{tmp}/missing/x.json"], "No such file or directory"),
    (["machine", "--file", "{json}"], "is not valid JSON"),
    (["compare"], "the following arguments are required: BASE, HEAD"),
    (["compare", "a", "b"], "no --results and no asv.conf.json here"),
    (["compare", "a", "b", "--results", "{tmp}/missing"], "does not exist"),
    (["compare", "a", "b", "--conf", "{tmp}/missing.json"], "not found"),
    (["compare", "a", "b", "--factor", "x"], "invalid float value"),
    # shard / merge / push-results
    (["shard", "HEAD", "--shards", "0", "--out", "{tmp}/s"], "--shards must be at least 1"),
    (["shard", "HEAD", "--shards", "2", "--out", "{tmp}/s"], "no --repo and no asv config"),
    (["shard", "HEAD", "--shards", "2", "--out", "{tmp}/s", "--repo", "{file}"], "is not a git repository"),
    (["shard", "HASHFILE:{tmp}/missing", "--shards", "2", "--out", "{tmp}/s", "--repo", "{repo}"],
     "cannot read hash file"),
    (["shard", "NEW", "--shards", "2", "--out", "{tmp}/s", "--repo", "{repo}"], "NEW needs the results folder"),
    (["shard", "HEAD", "--shards", "2", "--out", "{tmp}/s", "--repo", "{repo}", "--steps", "0"],
     "--steps must be at least 1"),
    (["shard", "HEAD", "--shards", "2", "--out", "{file}", "--repo", "{repo}"], "cannot write the shards"),
    (["shard", "nosuch..HEAD", "--shards", "2", "--out", "{tmp}/s", "--repo", "{repo}"], "git could not list"),
    (["shard", "HEAD", "--shards", "2", "--out", "{tmp}/s", "--strategy", "random"], "invalid choice"),
    (["merge", "{file}", "{tmp}"], "not a file"),
    (["merge", "{tmp}/d", "{tmp}/missing"], "does not exist"),
    (["merge"], "the following arguments are required"),
    (["push-results", "{tmp}/missing", "--remote", "x"], "is neither a URL, a path nor a remote"),
    (["push-results", "{tmp}"], "the following arguments are required: --remote"),
    (["push-results", "{tmp}", "--remote", "x", "--retries", "x"], "invalid int value"),
    # chunks / health / alert
    (["chunks"], "the following arguments are required: HASHFILE"),
    (["chunks", "{tmp}/missing", "--results", "r", "--machine", "m", "--size", "2", "--out", "o"],
     "cannot read hash file"),
    (["chunks", "{file}", "--results", "r", "--machine", "m", "--size", "2", "--out", "o"],
     "is not a full 40-hex commit sha"),
    (["chunks", "{file}", "--results", "r", "--machine", "m", "--size", "x", "--out", "o"], "invalid int value"),
    (["health", "--attach", "{tmp}"], "--attach needs --reading FILE"),
    (["health", "--attach", "{tmp}", "--reading", "{tmp}/missing"], "cannot read the health reading"),
    (["health", "--attach", "{tmp}", "--reading", "{json}"], "cannot read the health reading"),
    (["alert"], "the following arguments are required: kind, --out"),
    (["alert", "regression", "--out", "{tmp}/o"], "regression needs --html DIR"),
    (["alert", "regression", "--html", "{tmp}/missing", "--out", "{tmp}/o"], "regressions.json"),
    (["alert", "failed", "--health", "{json}", "--out", "{tmp}/o"], "cannot read"),
    (["alert", "nonsense", "--out", "{tmp}/o"], "invalid choice"),
    # plan / sidecar / steps
    (["plan"], "the following arguments are required: RANGE, --out"),
    (["plan", "{tmp}/missing", "a..b", "--out", "{tmp}/o"], "not a folder"),
    (["plan", "{file}", "a..b", "--out", "{tmp}/o"], "not a folder"),
    (["plan", "{repo}", "nosuch..HEAD", "--out", "{tmp}/o"], "bad revision"),
    (["plan", "{repo}", "HEAD", "--out", "{file}/x"], "cannot write"),
    (["plan", "{repo}", "HEAD", "--out", "{tmp}/o", "--every", "0"], "--every must be at least 1"),
    (["plan", "{repo}", "a..b", "--out", "{tmp}/o", "--device", "gpu"], "invalid choice"),
    (["plan", "a..b", "--out", "{tmp}/o"], "no REPO and no asv config"),
    (["sidecar"], "no --results and no asv.conf.json here"),
    (["sidecar", "--results", "{tmp}/missing"], "does not exist"),
    (["sidecar", "--all", "--newer-than", "x"], "not allowed with argument --all"),
    (["sidecar", "--newer-than", "{tmp}/missing", "--results", "{tmp}"], "No such file or directory"),
    (["steps"], "no --results and no asv.conf.json here"),
    (["steps", "--results", "{tmp}", "--html", "{tmp}/missing"], "no published site"),
    (["steps", "--factor", "x"], "invalid float value"),
    # fidelity / doctor / the command itself
    (["fidelity", "--device", "cpu"], "--device cpu is not one"),
    (["fidelity", "--device", "cpu", "--parts", "roofline"], "--device cpu is not one"),
    (["fidelity", "--device", "cpu", "--parts", "repeat", "--processes", "0"], "--processes and --tries"),
    (["fidelity", "--parts", "bogus"], "unknown --parts bogus"),
    (["fidelity", "--device", "npu"], "this machine has none"),
    (["fidelity", "--processes", "x"], "invalid int value"),
    (["doctor", "--bogus"], "unrecognized arguments"),
    (["doctor", "extra"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["--no-such-flag"], "unrecognized arguments"),
]
if not torch.cuda.is_available():
    BAD.append((["run", "--device", "cuda:0", "--single"], "no usable CUDA GPU"))


def call(args) -> int:
    try:
        return cli.main(args)
    except SystemExit as exc:  # argparse's own exit (usage errors, --help, --version)
        return exc.code


@pytest.fixture
def places(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the checkout; no asv.conf.json is found here
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "corrupt.json").write_text("{not json")
    (tmp_path / "has-latest-folder" / "latest").mkdir(parents=True)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "one"], check=True)
    return dict(tmp=tmp_path, file=tmp_path / "a-file", json=tmp_path / "corrupt.json", repo=repo, sha=SHA)


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(places, capsys, args, message):
    args = [a.format(**places) for a in args]
    rc = call(args)
    out, err = capsys.readouterr()
    assert rc == EXIT_ERROR, err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert out == "", out  # nothing started: no header, no partial output


def test_the_table_covers_every_subcommand():
    covered = {a[0] for a, _ in BAD}
    assert set(cli.COMMANDS) <= covered
    assert len(BAD) >= 60


def test_a_bug_is_exit_3_and_one_line_naming_the_log(monkeypatch, capsys, tmp_path):
    from ropebench.commands import doctor

    def broken():
        return {}["no such key"]

    monkeypatch.setattr(doctor, "CHECKS", (broken,))
    monkeypatch.setenv("ROPEBENCH_LOG_DIR", str(tmp_path))
    rc = call(["doctor"])
    err = capsys.readouterr().err
    assert rc == EXIT_BUG
    assert len(err.strip().splitlines()) == 1 and "KeyError" in err and "a bug" in err
    log = err.strip().rsplit("traceback in ", 1)[1]
    text = open(log).read()
    assert "Traceback" in text and "broken" in text and "ropebench doctor" in text


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_subcommand_has_an_example_in_its_help(capsys, command):
    assert call([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"ropebench {command}" in out.split("example:")[1]


def test_version(capsys):
    from ropebench import __version__

    assert call(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ropebench {__version__}"

"""A stand-in for ``asv run HASHFILE:...`` that writes valid asv result files quickly, one commit at a
time, so the pipeline's chunk, kill and resume logic is tested without real benchmarks.

Env: FAKE_ASV_LOG (a file: one line per commit measured), FAKE_ASV_HANG_AT (a sha: stop there and
wait to be killed, as a runner that dies mid-chunk)."""

import json
import os
import sys
import time
from pathlib import Path

MACHINE_KEYS = {"arch": "x86_64", "cpu": "fake", "num_cpu": "2", "os": "Linux", "ram": "1"}


def main(argv):
    if argv[:1] != ["run"]:
        return 0
    spec = argv[1]
    machine = argv[argv.index("--machine") + 1]
    commits = Path(spec.split(":", 1)[1]).read_text().split()
    results = Path(".asv/results")
    (results / machine).mkdir(parents=True, exist_ok=True)
    (results / machine / "machine.json").write_text(json.dumps({"machine": machine, **MACHINE_KEYS, "version": 1}))
    bench = {"fake.time_x": {"name": "fake.time_x", "unit": "seconds", "version": "1", "params": [],
                             "param_names": [], "type": "time"}, "version": 2}
    (results / "benchmarks.json").write_text(json.dumps(bench))
    for c in commits:
        if os.environ.get("FAKE_ASV_HANG_AT") == c:
            time.sleep(600)
        row = [[float(int(c[:6], 16))], [], "1", 1000, 0.1]
        data = {"commit_hash": c, "env_name": "fake", "date": 1, "params": {"machine": machine}, "python": "3.11",
                "requirements": {}, "env_vars": {}, "result_columns": ["result", "params", "version", "started_at",
                                                                        "duration"],
                "results": {"fake.time_x": row}, "durations": {}, "version": 2}
        (results / machine / f"{c[:8]}-fake.json").write_text(json.dumps(data))
        with open(os.environ.get("FAKE_ASV_LOG", os.devnull), "a") as f:
            f.write(c + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Benchmark: how long a `reconciler` process takes to start, against `python -c pass`.

    python tests/bench/bench_startup.py [--repeat 7] [--importtime]

Not a test (pytest ignores tests/bench): it prints medians and ratios measured in one run.
CI runs the CLI many times per pipeline, so its start-up is the floor of every run. Each
of these is a whole process, run REPEAT times interleaved (median):

  pass       `python -c pass`: the interpreter alone, the baseline;
  --help     `reconciler --help` (python -m reconciler);
  floor      what any `validate` built on our dependencies pays: a seven-line script that
             imports argparse, PyYAML and jsonschema-rs, parses its flags, loads the
             quickstart with PyYAML's C loader and checks it against the manifest schema;
  validate   `reconciler validate -f examples/quickstart.yaml` (manifest loading, no API call);
  plan HTTP  `reconciler plan -f TWO --detailed-exitcode` of a two-bucket manifest, in sync,
             against `reconciler serve` (no latency) on 127.0.0.1.

Goals: --help <= 1.5x pass, validate <= 2.5x pass. The floor is printed so the second goal
can be read against what the dependencies alone cost (jsonschema-rs's module init imports
`email.utils`, ~8 ms of its ~15 ms; PyYAML ~11 ms): validate's overhead is its distance
from the floor. `--importtime` also prints the ten slowest imports (cumulative) of
`validate` and of the plan, from `python -X importtime`.
Before timing, `reconciler/` is compiled, as `pip install` of a wheel does.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ACCOUNT, machine, median, table  # noqa: E402

from tests.support.emulator import running_emulator  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# The floor: nothing of reconciler, only what `validate` cannot do without.
FLOOR = """import argparse, json, sys
import jsonschema_rs, yaml
p = argparse.ArgumentParser(); p.add_argument("verb"); p.add_argument("-f"); args = p.parse_args()
schema = json.loads(open("schemas/manifest.schema.json", encoding="utf-8").read())
doc = yaml.load(open(args.f, encoding="utf-8"), Loader=yaml.CSafeLoader)
if not jsonschema_rs.Draft202012Validator(schema).is_valid(doc): sys.exit(1)
"""
TWO_BUCKETS = """version: 1
buckets:
  - name: start-a
    indexes:
      - {name: docs, dimension: 8, distanceMetric: cosine}
  - name: start-b
    indexes:
      - {name: docs, dimension: 8, distanceMetric: euclidean}
"""


def env_for(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOS_")}
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update({"NO_COLOR": "1", "PYTHONPATH": path})
    if url:
        env.update({"TOS_ENDPOINT": url, "TOS_ACCOUNT_ID": ACCOUNT})
    return env


def run(argv: list[str], env: dict[str, str], want: int = 0) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != want:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode} (wanted {want}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def slowest_imports(argv: list[str], env: dict[str, str], n: int = 10) -> list[tuple[int, str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, cwd=REPO, capture_output=True,
                          text=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]  # after the one space that follows "|": deeper imports are indented
        if not name.startswith(" "):
            rows.append((int(parts[1]), name.strip()))
    return sorted(rows, reverse=True)[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--importtime", action="store_true", help="also print the slowest imports")
    args = parser.parse_args()
    print(f"bench_startup {time.strftime('%Y-%m-%d %H:%M')}: median of {args.repeat}; {machine()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    compileall.compile_dir(str(REPO / "reconciler"), quiet=1)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        manifest = Path(tmp) / "two.yaml"
        manifest.write_text(TWO_BUCKETS)
        with running_emulator(Path(tmp) / "data") as emu:
            http = env_for(emu.url)
            run([py, "-m", "reconciler", "apply", "-f", str(manifest), "--auto-approve"], http)
            cases = {
                "python -c pass": ([py, "-c", "pass"], env_for(None)),
                "reconciler --help": ([py, "-m", "reconciler", "--help"], env_for(None)),
                "floor: argparse + PyYAML + jsonschema-rs": ([py, "-c", FLOOR, "validate", "-f",
                                                              "examples/quickstart.yaml"], env_for(None)),
                "reconciler validate (quickstart)": ([py, "-m", "reconciler", "validate", "-f",
                                                      "examples/quickstart.yaml"], env_for(None)),
                "reconciler plan, 2 buckets over HTTP": ([py, "-m", "reconciler", "plan", "-f", str(manifest),
                                                          "--detailed-exitcode"], http),
            }
            for argv, env in cases.values():  # warm the page cache
                run(argv, env)
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.repeat):
                for name, (argv, env) in cases.items():
                    samples[name].append(run(argv, env))
            if args.importtime:
                for name in ("reconciler validate (quickstart)", "reconciler plan, 2 buckets over HTTP"):
                    argv, env = cases[name]
                    print(f"\nslowest imports of {name} (cumulative us):")
                    for us, module in slowest_imports(argv[1:], env):
                        print(f"  {us:>8}  {module}")
    base = median(samples["python -c pass"])
    goals = {"reconciler --help": 1.5, "reconciler validate (quickstart)": 2.5}
    rows = []
    for name, times in samples.items():
        ratio = median(times) / base
        goal = goals.get(name)
        verdict = "" if goal is None else f"<= {goal}x: {'met' if ratio <= goal else 'MISSED'}"
        rows.append([name, f"{median(times) * 1000:.0f}", f"{min(times) * 1000:.0f}", f"{max(times) * 1000:.0f}",
                     f"{ratio:.2f}x", verdict])
    print("\n" + table(["process", "median ms", "min ms", "max ms", "vs python -c pass", "goal"], rows))
    floor = median(samples["floor: argparse + PyYAML + jsonschema-rs"])
    validate = median(samples["reconciler validate (quickstart)"])
    print(f"\nvalidate is {validate / floor:.2f}x the floor ({(validate - floor) * 1000:.0f} ms of its own); "
          f"the floor alone is {floor / base:.2f}x python -c pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

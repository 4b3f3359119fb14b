"""`python -m bench run [--quick] [--out DIR]`, `python -m bench report [--out DIR]`,
`python -m bench compare OLD.json NEW.json`, `python -m bench faults [--quick] [--out DIR]`
(bench/README.md)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from bench.cluster import run_cluster_section
from bench.compare import compare_files
from bench.report import cluster_section, render_faults_report, render_markdown, render_plots
from bench.run import FULL, QUICK, Sizes, run, run_faults
from bench.system import StartFailed
from bench.targets import fault_rows, targets

HERE = Path(__file__).resolve().parent


def write_report(results: dict, out: Path) -> None:
    if "voice" not in results:  # only the soak with faults has run (`python -m bench faults`)
        (out / "REPORT.md").write_text(render_faults_report(results), encoding="utf-8")
        return
    (out / "REPORT.md").write_text(render_markdown(results), encoding="utf-8")
    render_plots(results, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="run the benchmarks (about 35 minutes)")
    runner.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness")
    runner.add_argument(
        "--no-cluster", action="store_true", help="without the cluster section (12 minutes less)"
    )
    runner.add_argument("--out", type=Path, default=HERE, help="folder for the results")
    reporter = commands.add_parser("report", help="write REPORT.md and plots from results.json")
    reporter.add_argument("--out", type=Path, default=HERE, help="folder of results.json")
    comparer = commands.add_parser("compare", help="what got better or worse between two runs")
    comparer.add_argument("old", type=Path)
    comparer.add_argument("new", type=Path)
    faulter = commands.add_parser(
        "faults", help="only the soak with faults (about 12 minutes), merged into results.json"
    )
    faulter.add_argument("--quick", action="store_true", help="about 80 s of soak, three faults")
    faulter.add_argument("--out", type=Path, default=HERE, help="folder of results.json")
    clusterer = commands.add_parser(
        "cluster",
        help="only the cluster section (about 12 minutes), merged into results.json",
    )
    clusterer.add_argument("--quick", action="store_true", help="a few sessions: the harness")
    clusterer.add_argument("--out", type=Path, default=HERE, help="folder of results.json")
    args = parser.parse_args(argv)

    if args.command == "compare":
        try:
            print(compare_files(args.old, args.new))
        except (OSError, ValueError) as error:
            print(f"Cannot compare: {error}", file=sys.stderr)
            return 2
        return 0
    out: Path = args.out
    if args.command == "report":
        try:
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            print(
                f"No results to report in {out}: {error}. Run `make bench` first.", file=sys.stderr
            )
            return 2
        write_report(results, out)
        print(f"Report: {out / 'REPORT.md'}")
        return 0
    if args.command == "faults":
        return faults_only(QUICK if args.quick else FULL, out)
    if args.command == "cluster":
        return cluster_only(args.quick, out)
    try:
        sizes = QUICK if args.quick else FULL
        results = run(replace(sizes, cluster=False) if args.no_cluster else sizes, out)
    except StartFailed as error:
        print(f"{error}: see {out / 'make-run.log'}", file=sys.stderr)
        return 1
    text = json.dumps(results, indent=2, ensure_ascii=False)
    (out / "results.json").write_text(text + "\n", encoding="utf-8")
    write_report(results, out)
    print(f"Results: {out / 'results.json'}\nReport:  {out / 'REPORT.md'}")
    for target in results["targets"]:
        mark = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        measured = f"{target['measured']} {target['unit']}"
        print(f"  {target['name']}: {measured} ({target['target']}: {mark})")
    return 0


def cluster_only(quick: bool, out: Path) -> int:
    """The cluster section alone; its figures replace the "cluster" of `out`/results.json."""
    found = run_cluster_section(quick)
    path = out / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = {"schema": 1}
    results["cluster"] = found
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\n".join(cluster_section(found)))
    if "voice" in results:
        write_report(results, out)
    return 0


def faults_only(sizes: Sizes, out: Path) -> int:
    """The soak with faults on a system of its own; its figures replace the "faults" of
    `out`/results.json (a full run's, or a document of its own), then the targets and the
    report are written again."""
    try:
        found = run_faults(sizes, out)
    except StartFailed as error:
        print(f"{error}: see {out / 'faults-make-run.log'}", file=sys.stderr)
        return 1
    path = out / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = {"schema": 1}
    results["faults"] = found
    results["targets"] = targets(results) if "voice" in results else fault_rows(found)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_report(results, out)
    print(f"Results: {path} (faults)\nReport:  {out / 'REPORT.md'}")
    for target in fault_rows(found):
        mark = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        print(f"  {target['name']}: {target['measured']} {target['unit']} "
              f"({target['target']}: {mark})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

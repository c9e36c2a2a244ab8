"""The `ftvsrag` command: thin; each subcommand hands over to one function."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ftvsrag import __version__
from ftvsrag.errors import UserInputError
from ftvsrag.team import TeamFailed

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = _parse(parser, argv)
    _quiet_offline_environment()
    try:
        with _terminate_unwinds():
            return args.handler(args)
    except UserInputError as error:
        _close_progress_bars()
        if int(os.environ.get("RANK", "0")) == 0:  # in a team, every process finds the same fault
            print(f"ftvsrag: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("ftvsrag: interrupted; no run folder was changed", file=sys.stderr)
        return 130
    except TeamFailed:
        return 1  # a follower: the leader has said what failed


def _close_progress_bars() -> None:
    """A stage that failed mid-loop leaves its bar open (the trainer closes its own only at the end
    of training); closed now, it prints before the error line, not after it at exit."""
    from tqdm import tqdm

    for bar in list(tqdm._instances):
        bar.close()


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a job scheduler, a launcher stopping the others when one process failed):
    unwinds like Ctrl-C, so staging folders are removed on the way out."""


@contextlib.contextmanager
def _terminate_unwinds() -> Iterator[None]:
    """SIGTERM raises `Terminated` while a command runs (Python's default ends the process at once,
    leaving a run's staging folder behind); the previous handler comes back after. Signals reach the
    main thread only, so a command called from another thread keeps the default."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """argparse stops collecting KEY=VALUE overrides at the first option (`run CONFIG --nproc 2
    a=b`); the ones after it are overrides too, in the order given."""
    args, extra = parser.parse_known_args(argv)
    stray = [token for token in extra if token.startswith("-") or "=" not in token]
    if stray or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(stray or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    return args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftvsrag",
        description="Fine-tune or retrieve? Measures both on a knowledge base, offline: a LoRA fine-tune "
        "of a small chat model against the same model answering through a Chroma RAG prompt.",
        epilog="Start with: ftvsrag run configs/cities.yaml",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _add_experiment_commands(commands)
    _add_tool_commands(commands)
    return parser


def _add_experiment_commands(commands) -> None:
    run = commands.add_parser(
        "run",
        help="run an experiment from a YAML config and print its report",
        description="Run every arm of a config on its knowledge base and write runs/<name>/\n"
        "(config.yaml, manifest.json, answers.jsonl, results.json, report.md, adapters/, chroma/).\n"
        "Stages whose inputs are unchanged since an earlier run (index, adapters, answers) are\n"
        "reused from runs/.cache/; an interrupted training resumes from its last checkpoint.",
        epilog="examples:\n"
        "  ftvsrag run configs/cities.yaml train.epochs=5 rag.k=3\n"
        "  ftvsrag run configs/documents.yaml data.documents=DOCS data.questions=Q.jsonl name=mine\n\n"
        "DOCS: a JSONL file of {id, title?, text} records or a folder of .txt/.md files.\n"
        "Q.jsonl: {question, answer} or {question, answers: [aliases]} records.\n\n"
        "components a config names (registered; a new one is one module):\n" + _components_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config_arguments(run, "configs/cities.yaml")
    _add_run_options(run)
    run.set_defaults(handler=_run)

    sweep = commands.add_parser(
        "sweep",
        help="fine-tune over recipe x augmentation x epochs on any knowledge base; write a CSV and a PNG",
        description="Train one knowledge fine-tune per grid point (each recipe with its own augmentation: "
        "paraphrases, or generated pairs per passage) and ask it the training questions, and on generated "
        "cities unseen paraphrases, closed book. Writes runs/<name>/sweep.csv and sweep.png.",
        epilog="Examples: ftvsrag sweep configs/sweep.yaml grid.epochs=[1,3]   "
        "ftvsrag sweep configs/sweep_documents.yaml",
    )
    _add_config_arguments(sweep, "configs/sweep.yaml")
    sweep.set_defaults(handler=_sweep)


def _add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="run in N processes (torchrun --standalone): training is DDP, answers are shared out; "
        "plain `torchrun ... -m ftvsrag run CONFIG` and `accelerate launch` work too",
    )
    run.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="STAGE",
        help="recompute a stage even if its inputs are unchanged (repeatable): " + ", ".join(_forceable()),
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything a run would check (config, files, model, server, run name, runs_dir) and "
        "print the plan: each stage, reused or to compute, with its tokens and estimated time; "
        "writes nothing",
    )
    run.add_argument(
        "--verify",
        action="store_true",
        help="before reusing a cached stage, check every file's digest, not only its size (a damaged "
        "entry is named, moved aside and recomputed)",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="also show library warnings and the trainer's log (always in run.log)",
    )


def _add_tool_commands(commands) -> None:
    report = commands.add_parser(
        "report",
        help="re-score a finished run from its answers.jsonl (no model needed)",
        description="Recompute results.json and report.md of a run from answers.jsonl alone.",
    )
    report.add_argument("run_dir", type=Path, help="a run folder, e.g. runs/cities")
    report.set_defaults(handler=_report)

    compare = commands.add_parser(
        "compare",
        help="paired comparison of two runs over the same questions (no model needed)",
        description="Per arm and split of two run folders: both accuracies, B - A with its 95 % interval, "
        "exact McNemar, and the questions that flipped (the first N here, all in the HTML page). "
        "Refuses when the runs asked different questions.",
        epilog="Example: ftvsrag compare runs/cities-fp32 runs/cities-bf16",
    )
    compare.add_argument("run_a", type=Path, help="run folder A")
    compare.add_argument("run_b", type=Path, help="run folder B")
    compare.add_argument("--show", type=int, default=5, metavar="N", help="flipped questions shown per arm")
    compare.add_argument(
        "--html",
        type=Path,
        help="the page with every flipped question (default: compare-A-vs-B.html beside A)",
    )
    compare.set_defaults(handler=_compare)

    data = commands.add_parser(
        "cities",
        help="write the blog's cities_population.jsonl, byte for byte (OpenAI chat fine-tuning format)",
        description="Regenerate the reference experiment's dataset: random.seed(42), populations "
        "randint(100000, 10000000) for City_1..City_N.",
    )
    data.add_argument("--out", type=Path, default=Path("cities_population.jsonl"), help="file to write")
    data.add_argument("--num-cities", type=int, default=100, help="how many cities (default 100)")
    data.add_argument("--seed", type=int, default=42, help="random seed (default 42, the blog's)")
    data.set_defaults(handler=_cities)

    cached = commands.add_parser(
        "cache",
        help="list the cached stages (size, age) or prune them",
        description="List runs/.cache/ (one entry per cached index, adapter or answer set) with sizes "
        "and ages; with --older-than or --max-size, remove entries (oldest first). A pruned stage is "
        "simply recomputed by the next run that needs it.",
        epilog="Example: ftvsrag cache --older-than 30d --max-size 2GB",
    )
    cached.add_argument("--runs-dir", type=Path, default=Path("runs"), help="runs folder (default runs)")
    cached.add_argument("--older-than", metavar="AGE", help="remove entries unused for AGE (e.g. 12h, 30d)")
    cached.add_argument(
        "--max-size", metavar="SIZE", help="remove oldest entries until the cache fits SIZE (e.g. 500MB, 2GB)"
    )
    cached.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    cached.add_argument(
        "--verify",
        action="store_true",
        help="check every entry's files against their recorded sizes and digests; a damaged entry is "
        "named and moved aside (.NAME.damaged-TIME), and the next run recomputes it",
    )
    cached.set_defaults(handler=_cache)


def _adapters() -> list[str]:
    """What `train:ADAPTER` takes: the knowledge fine-tune and every registered recipe."""
    from ftvsrag.names import FT_ADAPTER
    from ftvsrag.train.recipes import RECIPES

    return [FT_ADAPTER, *RECIPES.names()]


def _forceable() -> list[str]:
    from ftvsrag.stages import forceable

    return forceable(_adapters())


def _components_help() -> str:
    from ftvsrag.components import components

    return "\n".join(f"  {c.config_key}: {', '.join(c.names)}" for c in components())


def _add_config_arguments(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("config", type=Path, help=f"YAML config, e.g. {example}")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="override config keys, e.g. train.epochs=5"
    )


def _quiet_offline_environment() -> None:
    # Nothing in a default run needs the network; these stop libraries from trying anyway.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _run(args: argparse.Namespace) -> int:
    from ftvsrag.config import load_config
    from ftvsrag.launch import check_nproc, launch
    from ftvsrag.pipeline import check_processes, run_experiment
    from ftvsrag.stages import check_forceable
    from ftvsrag.team import launched_together

    force = check_forceable(args.force, _adapters())
    check_nproc(args.nproc)
    config = load_config(args.config, args.overrides)
    if args.dry_run:
        from ftvsrag.plan import dry_run

        print(dry_run(config, force, args.nproc, verify=args.verify))
        return 0
    if launched_together():
        return _run_in_team(config, force, args.verbose, args.verify)
    if args.nproc > 1:
        check_processes(config, args.nproc)
        flags = [f"--force={stage}" for stage in args.force]
        flags += [flag for flag, on in (("--verbose", args.verbose), ("--verify", args.verify)) if on]
        return launch(args.nproc, ["run", str(args.config), *args.overrides, *flags])
    return _print_outcome(run_experiment(config, force, verbose=args.verbose, verify=args.verify))


def _run_in_team(config, force: frozenset[str], verbose: bool, verify: bool) -> int:
    """One process of several: the leader runs the experiment, the others serve it."""
    from ftvsrag.pipeline import check_processes, run_experiment
    from ftvsrag.team import join_team, serve
    from ftvsrag.train.model import plan_device

    team = join_team(plan_device(config.device, config.dtype).device == "cpu", config.process_timeout_s)
    check_processes(config, team.size)
    if not team.leads:
        from ftvsrag.console import run_log

        with run_log(None, verbose):  # the leader's run.log speaks for the team
            serve(team)
        return 0
    try:
        outcome = run_experiment(config, force, team, verbose, verify)
    except BaseException:
        team.dismiss(failed=True)
        raise
    team.dismiss(failed=False)
    return _print_outcome(outcome)


def _terminate(signum, frame) -> None:
    raise Terminated()


def _print_outcome(outcome) -> int:
    from ftvsrag.eval.report import forgetting_line, results_table, verdict
    from ftvsrag.eval.verdict_text import decision_line

    print()
    if outcome.results.get("verdict"):
        print(decision_line(outcome.results))
        print()
    print(results_table(outcome.results))
    print()
    print(verdict(outcome.results, recipe=outcome.knowledge_phrase))
    if outcome.results.get("forgetting"):
        print(forgetting_line(outcome.results))
    for note in outcome.warnings:
        print(f"Note: {note}")
    print(
        f"\nFull report: {outcome.run_dir}/report.html (every question, its passages and answers; "
        "report.md in Markdown); log: run.log"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from ftvsrag.sweep import load_sweep_config, run_sweep
    from ftvsrag.team import launched_together

    if launched_together():
        raise UserInputError("sweep runs in one process only: start it without torchrun or accelerate launch")

    run_dir = run_sweep(load_sweep_config(args.config, args.overrides))
    print((run_dir / "sweep.csv").read_text(encoding="utf-8"))
    print(f"Wrote {run_dir}/sweep.csv and {run_dir}/sweep.png")
    return 0


def _report(args: argparse.Namespace) -> int:
    from ftvsrag.config import ExperimentConfig, load_config
    from ftvsrag.eval.rescore import rescore_run
    from ftvsrag.train.recipes import recipe_phrase

    settings = args.run_dir / "config.yaml"
    config = load_config(settings) if settings.is_file() else ExperimentConfig()
    print(rescore_run(args.run_dir, config.summary_options(), recipe_phrase))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ftvsrag.eval.compare import compare_runs, comparison_markdown
    from ftvsrag.eval.html_report import markdown_page
    from ftvsrag.eval.rescore import read_answers
    from ftvsrag.files import write_text_atomic

    if args.show < 0:
        raise UserInputError(f"--show must be 0 or more, got {args.show}")
    names = (str(args.run_a), str(args.run_b))
    comparisons = compare_runs(read_answers(args.run_a), read_answers(args.run_b), names)
    print(comparison_markdown(comparisons, names, limit=args.show))
    page = args.html or args.run_a.parent / f"compare-{args.run_a.name}-vs-{args.run_b.name}.html"
    write_text_atomic(page, markdown_page(comparison_markdown(comparisons, names)))
    print(f"Every flipped question: {page}")
    return 0


def _verify_cache(entries) -> int:
    from ftvsrag.cache_admin import verify_entries

    damaged = verify_entries(entries)
    for entry, why in damaged:
        print(f"{entry.path.name}: {why}; moved aside")
    print(f"{len(damaged)} of {len(entries)} entries damaged")
    return 0


def _cities(args: argparse.Namespace) -> int:
    from ftvsrag.files import write_text_atomic
    from ftvsrag.knowledge.facts import cities_jsonl

    if args.num_cities <= 0:
        raise UserInputError(f"--num-cities must be positive, got {args.num_cities}")
    write_text_atomic(args.out, cities_jsonl(args.num_cities, args.seed))
    print(f"Wrote {args.num_cities} records to {args.out}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ftvsrag.cache_admin import list_entries, parse_age, parse_size, prune, table

    root = args.runs_dir / ".cache"
    entries = list_entries(root)
    if args.verify:
        return _verify_cache(entries)
    if args.older_than is None and args.max_size is None:
        print(table(entries) if entries else f"{root}: no cached stages")
        return 0
    removed = prune(
        entries,
        parse_age(args.older_than) if args.older_than else None,
        parse_size(args.max_size) if args.max_size else None,
        dry_run=args.dry_run,
    )
    verb = "Would remove" if args.dry_run else "Removed"
    print(f"{verb} {len(removed)} of {len(entries)} entries ({sum(e.size for e in removed) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

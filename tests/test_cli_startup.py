"""`dropout-grader` answers `--help` and argument errors without loading the grading stack.

A timed assertion would be flaky on a shared machine, so these tests check what makes start-up
slow instead: which modules are imported. `benchmarks/cli_startup.py` measures the seconds.
"""
import json
import subprocess
import sys

import pytest

from autograder import cli

# Each of these costs from a tenth of a second (NumPy) to seconds (torch, jsonschema's IRI grammar).
HEAVY = ("nbformat", "nbgrader", "jsonschema", "rfc3987_syntax", "torch", "numpy", "sqlalchemy", "jupytext",
         "matplotlib", "distributed", "copydetect", "jupyter_client", "tqdm")
VERBS = sorted(cli.build_parser()._subparsers._group_actions[0].choices)


def modules_loaded_by(code: str) -> set[str]:
    """Top-level packages imported by `code` in a fresh interpreter (this one has them all loaded)."""
    report = "import json, sys; print(json.dumps(sorted({m.split('.')[0] for m, v in sys.modules.items() if v})))"
    proc = subprocess.run([sys.executable, "-c", f"{code}\n{report}"], capture_output=True, text=True, check=True)
    return set(json.loads(proc.stdout.splitlines()[-1]))


def help_of(argv: list[str]) -> str:
    """Run the parser as `dropout-grader ARGV --help` does, returning without exiting."""
    return (f"import contextlib, io\nfrom autograder.cli import build_parser\n"
            f"with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            f"    build_parser().parse_args({argv!r} + ['--help'])")


def test_the_parser_and_top_level_help_import_nothing_heavy():
    assert modules_loaded_by(help_of([])).isdisjoint(HEAVY)


@pytest.mark.parametrize("verb", VERBS)
def test_each_verbs_help_imports_nothing_heavy(verb):
    assert modules_loaded_by(help_of([verb])).isdisjoint(HEAVY), f"dropout-grader {verb} --help"


def test_the_verbs_are_found():
    assert {"release", "collect", "grade", "feedback", "export", "check"} <= set(VERBS)


def test_the_console_script_answers_help():
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--jobs" in proc.stdout, proc.stderr


def test_reading_a_notebook_does_not_build_the_iri_grammar():
    loaded = modules_loaded_by("import autograder, nbformat\nnbformat.validate(nbformat.v4.new_notebook())")
    assert "nbformat" in loaded and "jsonschema" in loaded
    assert "rfc3987_syntax" not in loaded


def test_the_parsers_similarity_default_is_the_similarity_modules():
    from autograder.similarity.compare import MIN_MATCH

    assert cli.SIMILARITY_MIN_MATCH == MIN_MATCH


def test_a_user_error_raised_in_a_lazily_imported_verb_is_still_a_message(tmp_path, capsys):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email\n")
    (tmp_path / "exports").mkdir()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["collect", str(tmp_path / "exports"), "--course", str(tmp_path / "course"), "--roster", str(roster)])
    assert str(exit_.value).startswith("error: roster") and "lists nobody" in str(exit_.value)


def test_an_unexpected_error_is_not_swallowed(monkeypatch):
    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "cmd_deadlines", broken)
    with pytest.raises(KeyError):
        cli.main(["deadlines"])


@pytest.mark.parametrize("argv", [
    ["report", "--assignment", "ch02", "--assignment", "ch03"],   # repeated, as manual, report and override took it
    ["export", "--assignments", "ch02", "ch03"],                  # listed, as export took it
    ["similarity", "--assignment", "ch02", "ch03"],
])
def test_every_verb_chooses_assignments_the_same_way(argv):
    assert cli.build_parser().parse_args(argv).assignments == ["ch02", "ch03"]


def test_a_verb_that_takes_one_assignment_refuses_two(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["collect", str(tmp_path), "--course", str(tmp_path / "course"), "--assignment", "ch02", "ch03"])
    assert "give one" in str(exit_.value)


def test_the_shared_options_reach_every_verb_that_had_them():
    parser = cli.build_parser()
    assert parser.parse_args(["sample", "--jobs", "1", "--no-sandbox", "--db", "sqlite://"]).jobs == 1
    assert parser.parse_args(["grade", "--cell-timeout", "5", "--course", "c"]).cell_timeout == 5
    assert parser.parse_args(["feedback", "--course-file", "x.toml"]).course_file == "x.toml"
    assert parser.parse_args(["similarity", "--course", "c"]).course == "c"

"""The test tiers of tests/conftest.py: derived from the code a test runs, and kept from rotting.

A tier that silently stops matching would move kernel or browser tests into `pytest --fast`, or a
fast test out of it; these tests fail first.
"""
import ast
import re
import textwrap
from pathlib import Path

import pytest

from conftest import SIGNALS, SLOW, TESTS, tiers_by_code, work_order, xdist_group

REPO = TESTS.parent


def fake_module(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "test_fake.py"
    path.write_text(textwrap.dedent(source))
    return path


SAMPLE = '''
    import pytest
    from autograder.grade.pipeline import grade_all
    from pg_server import postgres_server


    @pytest.fixture(scope="module")
    def graded(tmp_path_factory):
        return grade_class(tmp_path_factory.mktemp("course"))


    def grade_class(course):
        return grade_all(course, None, jobs=2)


    def test_through_a_fixture(graded):
        assert graded


    def test_on_postgresql(graded):
        with postgres_server() as url:
            assert url


    def test_a_module_import_alone_is_not_enough():
        assert pytest


    def test_a_browser():
        from playwright.sync_api import sync_playwright
        assert sync_playwright


    def test_released(tmp_path):
        from autograder.release.notebooks import release
        release(tmp_path, ("ch02",))
'''


@pytest.mark.parametrize("test, fixtures, tiers", [
    ("test_through_a_fixture", ["graded"], {"kernel"}),  # the fixture calls a helper that grades
    ("test_on_postgresql", ["graded"], {"kernel", "service"}),
    ("test_a_module_import_alone_is_not_enough", [], set()),
    ("test_a_browser", [], {"browser"}),
    ("test_released", ["tmp_path"], {"slow"}),
])
def test_tiers_follow_the_code_a_test_runs(tmp_path, test, fixtures, tiers):
    assert tiers_by_code(fake_module(tmp_path, SAMPLE), test, fixtures) == tiers


def test_a_module_that_reads_the_built_book_is_in_the_book_tier(tmp_path):
    module = fake_module(tmp_path, "from book_pages import HTML\n\ndef test_page():\n    assert HTML.exists()\n")
    assert tiers_by_code(module, "test_page", []) == {"book"}


def test_every_tiers_pattern_still_finds_tests_in_this_suite():
    """A pattern that matches no test any more names an entry point that was renamed or moved."""
    sources = "\n".join(path.read_text() for path in TESTS.rglob("test_*.py") if path.name != "test_tiers.py")
    for tier, pattern in SIGNALS.items():
        assert pattern.search(sources), f"SIGNALS[{tier!r}] matches no test: update it in tests/conftest.py"


@pytest.mark.parametrize("name", ["grade_all", "grade_submission", "execute", "release"])
def test_the_entry_points_the_patterns_name_still_exist(name):
    """The kernel and slow patterns name the grader's functions; renaming one must update them."""
    defined = any(re.search(rf"^def {name}\(", path.read_text(), re.M) for path in (REPO / "autograder").rglob("*.py"))
    assert defined, f"autograder/ defines no {name}(): update SIGNALS in tests/conftest.py"
    assert any(name in pattern.pattern for pattern in SIGNALS.values())


@pytest.mark.parametrize("key", sorted(SLOW))
def test_every_slow_entry_names_an_existing_module_or_test(key):
    module, _, test = key.partition("::")
    path = TESTS / module
    assert path.exists(), f"SLOW names {module}, which is gone"
    if test:
        names = {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}
        assert test in names, f"SLOW names {key}, which is gone"


def test_a_kernel_launched_outside_the_kernel_tier_fails_the_test():
    """The runtime check behind the patterns: this test is not in the kernel tier, so its kernel is refused."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    with pytest.raises(RuntimeError, match="not in the kernel tier"):
        manager.start_kernel()
    assert not manager.has_kernel



def test_parallel_runs_keep_kernel_tests_together_and_each_other_module_on_one_worker(tmp_path):
    """What the xdist scheduler is given: the group of a test id."""
    fake_module(tmp_path, SAMPLE)
    assert xdist_group(tmp_path, "test_fake.py::test_on_postgresql") == "grading"
    assert xdist_group(tmp_path, "test_fake.py::test_through_a_fixture[param-1]") == "grading"
    assert xdist_group(tmp_path, "test_fake.py::test_a_browser") == "test_fake.py"
    assert xdist_group(tmp_path, "test_fake.py::test_released") == "test_fake.py"


def test_parallel_runs_hand_out_the_longest_groups_first(tmp_path):
    """The kernel group, then modules by their heaviest tier (a decorated @pytest.mark.slow counts), then by size:
    a slow module handed out last would run on alone while the other worker idles."""
    (tmp_path / "test_light.py").write_text("def test_a():\n    pass\n")
    (tmp_path / "test_marked.py").write_text("import pytest\n\n\n@pytest.mark.slow\ndef test_long():\n    pass\n")
    fake_module(tmp_path, SAMPLE)
    groups = {"test_light.py": [f"test_light.py::test_a[{i}]" for i in range(50)],
              "test_marked.py": ["test_marked.py::test_long"],
              "test_fake.py": ["test_fake.py::test_a_browser", "test_fake.py::test_a_module_import_alone_is_not_enough"],
              "grading": ["test_fake.py::test_on_postgresql"]}
    order = sorted(groups, key=lambda group: work_order(tmp_path, group, groups[group]))
    assert order == ["grading", "test_marked.py", "test_fake.py", "test_light.py"]


def test_a_test_sharing_a_kernel_tests_module_fixture_joins_the_kernel_group(tmp_path):
    """Else each worker would build the fixture (the student kit's venv: a pip install of torch) once."""
    (tmp_path / "test_shared.py").write_text(textwrap.dedent('''
        import pytest


        @pytest.fixture(scope="session")
        def installed(tmp_path_factory):
            return tmp_path_factory.mktemp("venv")


        @pytest.fixture
        def scratch(tmp_path):
            return tmp_path


        def test_runs_there(installed, scratch):
            execute(installed)


        def test_installed_alone(installed):
            assert installed


        def test_scratch_alone(scratch):
            assert scratch
    '''))
    assert xdist_group(tmp_path, "test_shared.py::test_runs_there") == "grading"
    assert xdist_group(tmp_path, "test_shared.py::test_installed_alone") == "grading"
    assert xdist_group(tmp_path, "test_shared.py::test_scratch_alone") == "test_shared.py"  # function scope: not shared

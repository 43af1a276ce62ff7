"""Every byte a kernel sends counts against the output caps, as it arrives (issue 17, item 1).

The cells below send what once went uncounted: metadata, `transient`, display updates that
nbclient copies onto every output with the same display id, one message of many small frames,
and frames past the message cap. The grader (this test process, running the executor as a
worker does) must keep a notebook within the stated caps, say in the cell what it dropped, hear
the kernel again afterwards, and not grow its own memory with what was sent (well over 1 GB).
"""
import json
import resource

import nbformat
import pytest

from autograder.grade.execute import execute, fit_to_size
from autograder.grade.limits import KEPT_NOTEBOOK_LIMIT, MESSAGE_LIMIT, NOTEBOOK_OUTPUT_LIMIT, OUTPUT_LIMIT

MiB = 2**20
CELLS = {
    # Fields nbclient copies without looking: an unhashable display id, a 1 MiB "execution count".
    "odd_fields": "_k = get_ipython().kernel\n"
                  "_k.session.send(_k.iopub_socket, 'display_data', {'data': {'text/plain': 'odd'}, 'metadata': {},\n"
                  "                'transient': {'display_id': ['not', 'hashable']}}, parent=_k.get_parent('shell'))\n"
                  "_k.session.send(_k.iopub_socket, 'execute_result', {'data': {'text/plain': 'n'}, 'metadata': {},\n"
                  "                'execution_count': 'c' * 2**20}, parent=_k.get_parent('shell'))\n"
                  "print('after odd fields')\n",
    # 40 outputs each carrying 10 MiB of metadata: 400 MiB sent, most of it past the notebook's budget.
    "metadata": "from IPython.display import display\n_meta = {'pad': 'm' * (10 * 2**20)}\n"
                "for _ in range(40):\n    display({'text/plain': 'small'}, raw=True, metadata=_meta)\n",
    # 300 outputs with one display id, then one 1 MiB update: nbclient would write it 300 times.
    "fan_out": "from IPython.display import display, update_display\n"
               "for _ in range(300):\n    display({'text/plain': 'tick'}, raw=True, display_id='x')\n"
               "update_display({'text/plain': 'u' * 2**20}, raw=True, display_id='x')\n",
    # 10 MiB in `transient`, which is never kept but is sent, 20 times.
    "transient": "from IPython.display import display\n"
                 "for _ in range(20):\n    display({'text/plain': 't'}, raw=True, transient={'pad': 't' * (10 * 2**20)})\n",
    # One message of 64 frames of 1 MiB (a frame alone is under every cap) -- 20 times.
    "many_frames": "_k = get_ipython().kernel\n_buf = memoryview(b'b' * 2**20)\n"
                   "for _ in range(20):\n"
                   "    _k.session.send(_k.iopub_socket, 'display_data', {'data': {'text/plain': 'f'}, 'metadata': {}},\n"
                   "                    parent=_k.get_parent('shell'), buffers=[_buf] * 64)\n",
    # A single frame past the message cap: ZeroMQ refuses it unread.
    "huge_frame": "from IPython.display import display\n"
                  f"display({{'text/plain': 'h' * ({MESSAGE_LIMIT} + 2**20)}}, raw=True)\n",
    "still_heard": "print('still here')\n",
}


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code, id=name) for name, code in CELLS.items()])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    run = execute(notebook, tmp_path_factory.mktemp("scratch"), cell_timeout=120, notebook_timeout=600)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return run, {cell.id: cell for cell in run.notebook.cells}, grown


def stored(cell) -> int:
    return len(json.dumps(cell.outputs))


def dropped_note(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")


def test_fields_copied_without_looking_are_checked_first(flooded):
    _, cells, _ = flooded
    cell = cells["odd_fields"]
    assert "after odd fields" in "".join(o.get("text", "") for o in cell.outputs)
    assert type(cell.execution_count) is int and stored(cell) < 10_000


def test_metadata_counts_against_the_notebook_budget(flooded):
    run, cells, _ = flooded
    assert run.problem is None
    assert stored(cells["metadata"]) <= NOTEBOOK_OUTPUT_LIMIT
    assert 1 <= len([o for o in cells["metadata"].outputs if o.get("output_type") == "display_data"]) < 40
    assert "past the notebook's" in dropped_note(cells["metadata"])


def test_a_display_update_costs_once_per_output_it_rewrites(flooded):
    _, cells, _ = flooded
    cell = cells["fan_out"]
    # 300 x 1 MiB is past the budget: the update is dropped, the ticks stay as they were.
    assert stored(cell) < MiB
    assert all(o["data"]["text/plain"] == "tick" for o in cell.outputs if o.get("output_type") == "display_data")
    assert "size limit" in dropped_note(cell)


def test_transient_bytes_are_counted_though_never_kept(flooded):
    _, cells, _ = flooded
    displayed = [o for o in cells["transient"].outputs if o.get("output_type") == "display_data"]
    assert displayed == [], "the metadata cell already spent the budget: nothing more is accepted"
    assert "size limit" in dropped_note(cells["transient"])


def test_many_small_frames_are_one_message_past_the_cap(flooded):
    _, cells, _ = flooded
    cell = cells["many_frames"]
    assert not [o for o in cell.outputs if o.get("output_type") == "display_data"]
    assert f"more than the {MESSAGE_LIMIT:,} the grader reads" in dropped_note(cell)


def test_the_kernel_is_heard_after_a_frame_past_the_cap(flooded):
    _, cells, _ = flooded
    assert not [o for o in cells["huge_frame"].outputs if o.get("output_type") == "display_data"]
    assert "still here" in "".join(o.get("text", "") for o in cells["still_heard"].outputs)


def test_the_graders_memory_does_not_grow_with_what_was_sent(flooded):
    """About 1.9 GB was sent; the grader's peak grows by far less (about 490-690 MiB measured).

    What the peak holds: the notebook's 64 MiB budget, the 64 MiB messages of many small frames
    (received whole and decoded before they are refused) and the decoding's copies. The bound is
    about half of what was sent and a quarter of a worker's memory limit: a grader that kept what
    was sent would pass it by far.
    """
    _, _, grown = flooded
    assert grown < 2**30, f"the grader grew by {grown / MiB:.0f} MiB"


def test_the_kept_notebook_is_within_its_stated_size_and_says_what_was_cut(flooded):
    run, _, _ = flooded
    kept = fit_to_size(run.notebook, KEPT_NOTEBOOK_LIMIT)
    assert len(nbformat.writes(kept).encode()) <= KEPT_NOTEBOOK_LIMIT
    notes = [o["text"] for c in kept.cells for o in c.get("outputs", []) if "was cut by the grader" in o.get("text", "")]
    assert notes and f"limited to {KEPT_NOTEBOOK_LIMIT:,} bytes" in notes[0]


def test_fit_to_size_cuts_sources_and_cells_when_outputs_are_not_enough():
    many = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# " + "c" * 50_000) for _ in range(100)])
    kept = fit_to_size(many, 1_000_000)
    assert len(nbformat.writes(kept).encode()) <= 1_000_000
    assert "more characters cut by the grader" in kept.cells[0].source
    small = fit_to_size(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), 1_000_000)
    assert small.cells[0].source == "x = 1"


def test_the_caps_are_consistent():
    assert OUTPUT_LIMIT <= MESSAGE_LIMIT < NOTEBOOK_OUTPUT_LIMIT
    assert KEPT_NOTEBOOK_LIMIT < NOTEBOOK_OUTPUT_LIMIT

"""`nbgrader autograde`, started with less to import: what every grading batch runs.

The `nbgrader` command loads every sub-application, and jsonschema pulls in `rfc3987_syntax`,
which builds an IRI grammar at import (over a second here) for a string format that notebooks
never use. Blocking that import and starting the autograde application directly roughly halves
nbgrader's start-up, which each batch pays once.
"""
import sys

sys.modules.setdefault("rfc3987_syntax", None)  # jsonschema then skips the IRI format checks

from nbgrader.apps.autogradeapp import AutogradeApp  # noqa: E402 - after the import block above

if __name__ == "__main__":
    AutogradeApp.launch_instance()

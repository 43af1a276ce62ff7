"""The instructor's grading pipeline around nbgrader, one subpackage per verb.

``course`` (what every verb shares: layout, cells, gradebook, files), ``release``, ``collect``,
``grade``, ``manual``, ``export``, ``feedback``, ``report``, ``similarity``, ``sample``; ``cli``
is ``dropout-grader``.
"""
import sys

# jsonschema (imported by nbformat) builds an IRI grammar with `rfc3987_syntax` at import, about
# 1.5 s on an idle machine, for the "iri" string formats that no notebook schema uses. Marking the
# module absent makes jsonschema skip those two format checks, so every command that reads a
# notebook, and every grading worker, starts without that cost. setdefault: a process that
# imported it already keeps it.
sys.modules.setdefault("rfc3987_syntax", None)

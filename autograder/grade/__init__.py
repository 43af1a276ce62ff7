"""grade: rebuild each submission on the release, flag it, execute it sandboxed, score the checker's verdicts.

The pipeline per submission is :mod:`autograder.grade.pipeline`; ``check`` grades one notebook
for a student, ``overrides`` are the instructor's corrections on top of the grades.
"""

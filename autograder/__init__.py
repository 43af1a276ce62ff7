"""The instructor's grading pipeline around nbgrader: release, collect, grade, feedback, export."""

"""release: the student notebooks from the exercise sources (nbgrader), the book copies, the student kit."""

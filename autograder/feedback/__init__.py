"""feedback: one HTML page per student, with hidden tests and the grader's data kept off it."""

"""The course: where things live (layout), nbgrader cells, the gradebook, files, CSV input, deadlines."""

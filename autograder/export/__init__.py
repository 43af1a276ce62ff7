"""export: the gradebook as grades.csv/json, a score plot and the LMS's import files."""

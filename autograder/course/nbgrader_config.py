# nbgrader settings for the course; `dropout-grader` copies this into every course folder.
c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads the file

c.CourseDirectory.course_id = "dropout-from-first-principles"
# Stubs students see: a marker line, then an exception that makes unfinished work obvious.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# A fresh kernel per notebook; a cell that runs longer than this is stopped and scored 0.
c.ExecutePreprocessor.timeout = 60
c.ExecutePreprocessor.interrupt_on_timeout = True
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
# Restore every locked and graded cell from the released version before running a submission.
c.Autograde.create_student = True
# Hidden tests are kept in the source, removed from the student's copy.
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

"""`dropout-grader desk`: the instructor's local web app over the gradebook.

``security`` (token, host check, headers), ``views`` (the pages, escaped as the feedback pages are),
``marks`` (a written answer's points, with optimistic versioning), ``regrade`` (one submission),
``app`` (the Tornado handlers and the server). Every change goes through the code the command line
uses: ``Gradebook.grade_written`` as `manual --import`, ``overrides.change`` as `override`, the
pipeline's ``grade_submission`` as `grade`.
"""

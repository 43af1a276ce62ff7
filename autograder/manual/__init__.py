"""manual: sheets and pages for grading the written answers by hand."""

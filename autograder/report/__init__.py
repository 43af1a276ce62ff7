"""report: the instructor's class report (per question, per student) with its charts."""

"""What the built book must contain: shared by the static and the browser tests."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
# chapter page -> least number of figures its code draws
LESSONS = {
    "chapters/01_why_dropout/lesson.html": 1,
    "chapters/02_vanilla_vs_inverted/lesson.html": 1,
    "chapters/03_backward/lesson.html": 1,
    "chapters/04_training/lesson.html": 6,
    "chapters/05_spatial/lesson.html": 3,
    "chapters/06_monte_carlo/lesson.html": 3,
    "chapters/07_beyond/lesson.html": 3,
}
# The capstone (chapter 8) is an exercise page without a lesson of its own.
EXERCISES = [page.replace("lesson.html", "exercise.html") for page in LESSONS] + ["chapters/08_capstone/exercise.html"]
OTHER = ["intro.html", "students.html", "instructors.html", "references.html"]
# Pages that link the student kit (built by autograder.release.student_kit) for download.
KIT_PAGES = ["intro.html", "students.html"] + EXERCISES
ALL_PAGES = list(LESSONS) + EXERCISES + OTHER

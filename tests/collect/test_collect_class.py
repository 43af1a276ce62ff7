"""A class of 30 across Canvas, Moodle, Blackboard and Gradescope, collected with a roster in one go.

One export folder holds what each LMS wrote for one assignment (Canvas ch02, Moodle ch03,
Blackboard ch04, Gradescope ch05): names with accents, apostrophes and hyphens, resubmissions,
anonymous Canvas uploads, a student the roster does not list, a group submission, and uploads
whose own names imitate another student's prefix. Every notebook must land with its owner, or be
listed as held or unmatched; none may be lost.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autograder.course import submission_info
from autograder.collect import collect
from test_collect import export, filed, notebook

# (roster id, name, email, LMS ids) -- who is in the class.
CLASS = [
    ("s01", "Seán O'Brien", "sean@uni.edu", {"canvas_id": "12301"}),
    ("s02", "Ana García-López", "ana@uni.edu", {}),
    ("s03", "Fatima Al-Sayed", "fatima@uni.edu", {}),
    ("s04", "Zoë Ng", "zoe@uni.edu", {}),
    ("s05", "Mary Ann Lee", "mlee@uni.edu", {"canvas_id": "12305"}),
    ("s06", "Björn Åström", "bjorn@uni.edu", {}),
    ("s07", "Ann Smith", "asmith@uni.edu", {"canvas_id": "12307"}),
    ("s08", "Ann Smyth", "asmyth@uni.edu", {}),
    ("s09", "Chloé Dubois", "chloe@uni.edu", {"moodle_id": "2009"}),
    ("s10", "Liam O'Connor", "liam@uni.edu", {}),
    ("s11", "Ngozi Okafor-Adeyemi", "ngozi@uni.edu", {}),
    ("s12", "José Núñez", "jose@uni.edu", {}),
    ("s13", "Bo Lee", "bo@uni.edu", {}),
    ("s14", "Juan de la Cruz", "juan@uni.edu", {}),
    ("s15", "Élodie D'Angelo", "elodie@uni.edu", {}),
    ("s16", "Nadia Haddad", "nadia@uni.edu", {}),          # hands in nothing
    ("s17", "Kai Müller", "kai@uni.edu", {"blackboard_login": "kmuller"}),
    ("s18", "Priya Patel", "ppatel@uni.edu", {"blackboard_login": "ppatel"}),
    ("s19", "Tom Brown", "tbrown@uni.edu", {"blackboard_login": "tbrown"}),
    ("s20", "Lena Schmidt", "lschmidt@uni.edu", {"blackboard_login": "lschmidt"}),
    ("s21", "Omar Farouk", "ofarouk@uni.edu", {"blackboard_login": "ofarouk"}),
    ("s22", "Ines Sousa", "isousa@uni.edu", {"blackboard_login": "isousa"}),
    ("s23", "Hana Kim", "hkim@uni.edu", {"blackboard_login": "hkim"}),
    ("s24", "Luca Rossi", "luca@uni.edu", {"gradescope_sid": "9024"}),
    ("s25", "Maya Cohen", "maya@uni.edu", {"gradescope_sid": "9025"}),
    ("s26", "Eva Novák", "eva@uni.edu", {"gradescope_sid": "9026"}),
    ("s27", "Sam Taylor", "sam@uni.edu", {"gradescope_sid": "9027"}),
    ("s28", "Aiko Tanaka", "aiko@uni.edu", {"gradescope_sid": "9028"}),
    ("s29", "Ravi Iyer", "ravi@uni.edu", {"gradescope_sid": "9029"}),
    ("s30", "Noor Khan", "noor@uni.edu", {"gradescope_sid": "9030"}),
]
COLUMNS = ("canvas_id", "moodle_id", "blackboard_login", "gradescope_sid")

# Canvas, ch02: lastfirst[_LATE]_userid_attachmentid_<file>
CANVAS = {
    "obrienseán_12301_900001_ch02.ipynb": "s01",
    "garcíalópezana_LATE_12302_900002_ch02_exercise-1.ipynb": "s02",
    "alsayedfatima_12303_900003_exercise.ipynb": "s03",
    "ngzoë_12304_900004_x_1002_assignsubmission_file_ch02.ipynb": "s04",   # imitates Moodle after the prefix
    "leemaryann_12305_900005_ch02.ipynb": "s05",                            # a resubmission: two attachments
    "leemaryann_12305_900105_ch02-1.ipynb": "s05",
    "åströmbjörn_12306_900006_smithann_12307_900007_ch02.ipynb": "s06",   # imitates s07's Canvas prefix
    "smithann_12307_900007_ch02.ipynb": "s07",
    "smythann_12308_900008_ch02.ipynb": "s08",
    "anon_aB1cD_900009_ch02.ipynb": None,                                    # anonymous: no one to match
    "anon_eF2gH_900010_ch02.ipynb": None,
}
# Moodle, ch03: Full Name_participant_assignsubmission_file_<file>
MOODLE = {
    "Chloé Dubois_2009_assignsubmission_file_ch03.ipynb": "s09",
    "Liam O'Connor_2010_assignsubmission_file_ch03.ipynb": "s10",
    "Ngozi Okafor-Adeyemi_2011_assignsubmission_file_x_2009_assignsubmission_file_ch03.ipynb": "s11",
    "José Núñez_2012_assignsubmission_file_mine.ipynb": "s12",
    "Bo Lee_2013_assignsubmission_file_x_bob_attempt_2026-10-01-09-00-00_ch03.ipynb": "s13",
    "Juan de la Cruz_2014_assignsubmission_file_ch03.ipynb": "s14",
    "Élodie D'Angelo_2015_assignsubmission_file_ch03.ipynb": "s15",
    "Cy Stranger_2099_assignsubmission_file_ch03.ipynb": None,               # not on the roster
}
# Blackboard, ch04: Title_login_attempt_YYYY-MM-DD-HH-MM-SS_<file>
BB = "Dropout_ch04"
BLACKBOARD = {
    f"{BB}_kmuller_attempt_2026-10-12-20-00-00_ch04.ipynb": "s17",
    f"{BB}_ppatel_attempt_2026-10-12-21-00-00_x_kmuller_attempt_2026-10-01-00-00-00_ch04.ipynb": "s18",
    f"{BB}_tbrown_attempt_2026-10-12-22-00-00_ch04.ipynb": "s19",
    f"{BB}_tbrown_attempt_2026-10-13-09-00-00_ch04.ipynb": "s19",           # a second attempt
    f"{BB}_lschmidt_attempt_2026-10-12-23-00-00_ch04.ipynb": "s20",
    f"{BB}_ofarouk_attempt_2026-10-12-23-30-00_ch04.ipynb": "s21",
    f"{BB}_isousa_attempt_2026-10-12-23-45-00_ch04.ipynb": "s22",
    f"{BB}_hkim_attempt_2026-10-12-23-59-00_ch04.ipynb": "s23",
}
# Gradescope, ch05: submission_<id>/ with people and times in submission_metadata.yml
GRADESCOPE = {  # folder -> [(sid, name, email)]
    "submission_1": [("9024", "Luca Rossi", "luca@uni.edu")],
    "submission_2": [("9025", "Maya Cohen", "maya@uni.edu")],
    "submission_3": [("9026", "Eva Novák", "eva@uni.edu")],
    "submission_4": [("9027", "Sam Taylor", "sam@uni.edu")],
    "submission_5": [("9028", "Aiko Tanaka", "aiko@uni.edu")],
    "submission_6": [("9029", "Ravi Iyer", "ravi@uni.edu"), ("9030", "Noor Khan", "noor@uni.edu")],  # a group
}


def roster_csv(path):
    lines = ["id,name,email," + ",".join(COLUMNS)]
    for sid, name, email, ids in CLASS:
        quoted = f'"{name}"' if "," in name else name
        lines.append(",".join([sid, quoted, email, *(ids.get(c, "") for c in COLUMNS)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def metadata() -> str:
    out = []
    for n, (folder, people) in enumerate(GRADESCOPE.items()):
        out.append(f"{folder}:\n  :submitters:")
        for sid, name, email in people:
            out.append(f"  - :name: {name}\n    :sid: '{sid}'\n    :email: {email}")
        out.append(f"  :created_at: 2026-10-19 1{n}:00:00.000000000 +02:00")
    return "\n".join(out) + "\n"


@pytest.fixture
def lms(tmp_path):
    files = {}
    for names, assignment in ((CANVAS, "ch02"), (MOODLE, "ch03"), (BLACKBOARD, "ch04")):
        for name in names:
            files[name] = notebook(assignment, f"{assignment} by {name}")
    for folder in GRADESCOPE:
        files[f"{folder}/exercise.ipynb"] = notebook("ch05", f"ch05 by {folder}")
    files["submission_metadata.yml"] = metadata().encode()
    return export(tmp_path / "export", files)


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "course"
    path.mkdir()
    (path / "course.toml").write_text('[lms]\ntimezone = "Europe/Berlin"\n')
    return path


def expected_landing() -> dict:
    """(student, assignment) -> the export file that must be filed there, once every hold is resolved."""
    found = {}
    for names, assignment in ((CANVAS, "ch02"), (MOODLE, "ch03"), (BLACKBOARD, "ch04")):
        for name, owner in names.items():
            if owner:
                found.setdefault((owner, assignment), []).append(name)
    for folder, people in GRADESCOPE.items():
        for sid, _, _ in people:
            owner = next(s for s, _, _, ids in CLASS if ids.get("gradescope_sid") == sid)
            found[owner, "ch05"] = [f"{folder}/exercise.ipynb"]
    return found


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mixed_class_lands_with_its_owners_and_nothing_is_lost(tmp_path, lms, course):
    roster = roster_csv(tmp_path / "class.csv")
    got = collect(lms, course, roster=roster)
    in_course = filed(course)
    landing = expected_landing()
    # Every notebook that is filed sits with its owner, byte for byte.
    for (student, assignment), data in in_course.items():
        names = landing[student, assignment]
        assert any(data == (lms / name).read_bytes() for name in names), (student, assignment)
    # The two resubmissions are held (Canvas attachments, Blackboard attempts), with the LMS's order offered.
    held = {h.who: h for h in got.held}
    assert set(held) == {"s05", "s19"}
    assert "--latest to keep the newest by Canvas attachment id (leemaryann_12305_900105_ch02-1.ipynb)" in \
        held["s05"].todo
    assert "newest by Blackboard attempt time" in held["s19"].todo
    # The anonymous uploads and the stranger are listed, not filed.
    assert sorted(name for name, _, _ in got.unmatched) == ["Cy Stranger_2099_assignsubmission_file_ch03.ipynb",
                                                           "anon_aB1cD_900009_ch02.ipynb",
                                                           "anon_eF2gH_900010_ch02.ipynb"]
    # Each export is one assignment's: for each, the students with neither a filed nor a held notebook of it.
    pending = set(in_course) | {(h.who, h.assignment) for h in got.held}
    assert got.missing == {a: [s for s, *_ in CLASS if (s, a) not in pending]
                           for a in ("ch02", "ch03", "ch04", "ch05")}
    assert all("s16" in students for students in got.missing.values()) and got.needs_attention
    # Nothing is lost: every notebook of the export is in the course, held or unmatched.
    accounted = {name for names in landing.values() for name in names
                 if any(in_course.get(key) == (lms / name).read_bytes() for key in in_course)}
    accounted |= {f for h in got.held for f in h.files} | {name for name, _, _ in got.unmatched}
    every = {str(p.relative_to(lms)) for p in lms.rglob("*.ipynb")}
    assert every == accounted
    assert len(in_course) == 30 - 1 - 2  # s16 handed in nothing; s05 and s19 are held
    # Identity came from the LMS's ids where the roster had them, else from names; times from the LMS.
    record = submission_info.read(course, "s01", "ch02")
    assert (record.lms, record.lms_id, record.matched_by) == ("canvas", "12301", "canvas_id")
    assert submission_info.read(course, "s02", "ch02").matched_by == "name"
    bb = submission_info.read(course, "s18", "ch04")
    assert bb.submitted_at == datetime(2026, 10, 12, 21, 0, tzinfo=ZoneInfo("Europe/Berlin")) and \
        bb.source == "blackboard" and bb.lms_id == "ppatel"
    assert submission_info.read(course, "s30", "ch05").source == "gradescope"
    assert submission_info.read(course, "s11", "ch03").lms_id == "2011"

    # Resolving the holds as suggested collects the rest, and nothing collected before moves.
    again = collect(lms, course, roster=roster, latest=True, allow_unmatched=True)
    assert not again.held and not again.unmatched and not again.replaced
    final = filed(course)
    assert final["s05", "ch02"] == (lms / "leemaryann_12305_900105_ch02-1.ipynb").read_bytes()
    assert final["s19", "ch04"] == (lms / f"{BB}_tbrown_attempt_2026-10-13-09-00-00_ch04.ipynb").read_bytes()
    assert {k: v for k, v in final.items() if k in in_course} == in_course
    assert {("anon_aB1cD", "ch02"), ("anon_eF2gH", "ch02"), ("Cy_Stranger_2099", "ch03")} <= set(final)
    assert len(final) == 27 + 2 + 3

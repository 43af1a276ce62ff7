"""Who and when, from each LMS's own prefix; the student's file name after it is data. Pure: milliseconds.

Names are written as each LMS writes them; the hostile ones put text after a real prefix that
imitates another prefix (of the same LMS or another), to claim another identity or an earlier time.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from autograder.collect import NAMING_STYLES, CollectError, name_forms, naming_style, read_roster
from autograder.collect.lms_names import claim_file, claim_folder, gradescope_claim
from autograder.collect.roster import Match, RosterEntry, RosterIndex

NEW_YORK = ZoneInfo("America/New_York")


def who(name: str, tz=NEW_YORK):
    claim = claim_file(name, tz)
    return [(p.lms, p.lms_id, p.label) for p in claim.people], claim


@pytest.mark.parametrize("style", NAMING_STYLES, ids=lambda s: f"{s.lms}-{s.kind}")
def test_each_example_is_read_by_its_own_style(style):
    assert naming_style(style.example, style.kind)[0] is style


@pytest.mark.parametrize("name,person,original", [
    # Canvas: lastfirst[_LATE]_userid_attachmentid_<file>
    ("obrienseán_12345_678901_ch02.ipynb", ("canvas", "12345", "obrienseán_12345"), "ch02.ipynb"),
    ("garcíalópezana_LATE_12346_678902_ch02_exercise-1.ipynb", ("canvas", "12346", "garcíalópezana_12346"),
     "ch02_exercise-1.ipynb"),
    ("smithann_12345_678901_x_99999_111_ch02.ipynb", ("canvas", "12345", "smithann_12345"), "x_99999_111_ch02.ipynb"),
    ("smithann_12345_678901_x_1002_assignsubmission_file_ch02.ipynb", ("canvas", "12345", "smithann_12345"),
     "x_1002_assignsubmission_file_ch02.ipynb"),
    ("smithann_12345_678901_anon_zz_1_ch02.ipynb", ("canvas", "12345", "smithann_12345"), "anon_zz_1_ch02.ipynb"),
    # Canvas anonymous grading: anon_<id>_<attachmentid>_<file>; each id its own person
    ("anon_fC7Vx_678901_ch02.ipynb", ("canvas", "anon_fC7Vx", "anon_fC7Vx"), "ch02.ipynb"),
    ("anon_Qw3rT_LATE_678902_ch02.ipynb", ("canvas", "anon_Qw3rT", "anon_Qw3rT"), "ch02.ipynb"),
    ("anon_12345_678903_smithann_12345_1_ch02.ipynb", ("canvas", "anon_12345", "anon_12345"),
     "smithann_12345_1_ch02.ipynb"),
    # Moodle: Full Name_participant_assignsubmission_file_<file>
    ("Seán O'Brien_1001_assignsubmission_file_ch02.ipynb", ("moodle", "1001", "Seán O'Brien_1001"), "ch02.ipynb"),
    ("Ann Smith_1001_assignsubmission_file_x_1002_assignsubmission_file_ch02.ipynb",
     ("moodle", "1001", "Ann Smith_1001"), "x_1002_assignsubmission_file_ch02.ipynb"),
    ("Ann Smith_1001_assignsubmission_file_x_bob_attempt_2026-10-06-23-00-00_ch02.ipynb",
     ("moodle", "1001", "Ann Smith_1001"), "x_bob_attempt_2026-10-06-23-00-00_ch02.ipynb"),
    # Blackboard: Title_login_attempt_YYYY-MM-DD-HH-MM-SS_<file>; the title may hold "_"
    ("Dropout ch02_asmith_attempt_2026-10-05-23-00-00_x_bob_attempt_2026-10-06-23-00-00_ch02.ipynb",
     ("blackboard", "asmith", "asmith"), "x_bob_attempt_2026-10-06-23-00-00_ch02.ipynb"),
    ("Dropout_ch02_asmith_attempt_2026-10-05-23-00-00_ch02.ipynb", ("blackboard", "asmith", "asmith"), "ch02.ipynb"),
    ("Dropout ch02_asmith_attempt_2026-10-05-23-00-00_smithann_12345_678901_ch02.ipynb",
     ("blackboard", "asmith", "asmith"), "smithann_12345_678901_ch02.ipynb"),
    # Hand-made: <student>_<file>
    ("Sybil_ch02_exercise (1).ipynb", ("plain", "", "Sybil"), "ch02_exercise (1).ipynb"),
])
def test_identity_comes_from_the_lms_prefix_only(name, person, original):
    people, claim = who(name)
    assert people == [person] and claim.original == original


def test_a_blackboard_upload_cannot_move_its_own_time():
    _, honest = who("Dropout ch02_asmith_attempt_2026-10-07-10-00-00_ch02.ipynb")
    _, forged = who("Dropout ch02_asmith_attempt_2026-10-07-10-00-00_asmith_attempt_2026-10-01-09-00-00_ch02.ipynb")
    assert forged.when == honest.when == datetime(2026, 10, 7, 10, 0, tzinfo=NEW_YORK)
    assert forged.order == honest.order == "blackboard-attempt:2026-10-07-10-00-00"
    assert honest.time_source == "blackboard" and honest.when.utcoffset().total_seconds() == -4 * 3600


def test_blackboard_times_need_the_lms_time_zone_never_this_machines():
    _, claim = who("Dropout ch02_asmith_attempt_2026-10-07-10-00-00_ch02.ipynb", tz=None)
    assert claim.when is None and claim.time_source is None and "[lms] timezone" in claim.note
    assert claim.order == "blackboard-attempt:2026-10-07-10-00-00"  # still orders the attempts


def test_canvas_gives_an_order_and_a_late_marker_but_no_time():
    _, claim = who("smithann_LATE_12345_678901_ch02.ipynb")
    assert claim.when is None and claim.late and claim.time_source == "canvas-late-marker"
    assert claim.order == "canvas-attachment:00000000000000678901"
    assert who("smithann_12345_9_ch02.ipynb")[1].order < claim.order  # ids compare as numbers


def test_anonymous_canvas_names_keep_the_class_apart():
    ids = {who(f"anon_{x}_67890{i}_ch02.ipynb")[0][0] for i, x in enumerate(["aB1cD", "eF2gH", "iJ3kL"])}
    assert len(ids) == 3 and all(lms_id.startswith("anon_") for _, lms_id, _ in ids)
    assert claim_file("anon_aB1cD_678901_ch02.ipynb", None).people[0].anonymous


@pytest.mark.parametrize("name,expected", [
    ("notebook.ipynb", None), ("ch02_exercise.ipynb", ("plain", "ch02")),
    ("ann_12345_ch02.ipynb", ("plain", "ann")),            # Canvas needs two numbers: not Canvas
    ("Ann_smith_attempt_2026-1-5_ch02.ipynb", ("plain", "Ann")),  # not Blackboard's time stamp
])
def test_names_without_an_lms_prefix_are_plain_or_nothing(name, expected):
    claim = claim_file(name, None)
    assert (claim.people[0].lms, claim.people[0].label) == expected if expected else claim is None


def test_folders_moodle_gradescope_and_plain():
    moodle, _ = claim_folder("Ann Smith_1001_assignsubmission_file_", "x_1002_assignsubmission_file_ch02.ipynb", None)
    assert [(p.lms, p.lms_id) for p in moodle.people] == [("moodle", "1001")]
    blind, _ = claim_folder("Participant_1001_assignsubmission_file", "ch02.ipynb", None)
    assert blind.people[0].anonymous and blind.people[0].names == ()
    plain, note = claim_folder("submission_999", "ch02.ipynb", {})
    assert plain.people[0].lms == "plain" and "not in Gradescope's" in note


def test_gradescope_people_and_time_come_from_its_metadata():
    metadata = {"submission_1": {":submitters": [{":name": "Ann Smith", ":sid": "1001", ":email": "a@x.edu"},
                                                 {":name": "Bo Lee", ":sid": "", ":email": "bo@x.edu"}],
                                 ":created_at": datetime(2026, 10, 7, 10, 0, tzinfo=NEW_YORK)}}
    claim = gradescope_claim(metadata, "submission_1", "submission_2/ch02.ipynb")
    assert [(p.lms_id, p.email) for p in claim.people] == [("1001", "a@x.edu"), ("bo@x.edu", "bo@x.edu")]
    assert claim.time_source == "gradescope" and claim.when.isoformat() == "2026-10-07T14:00:00+00:00"
    assert gradescope_claim(metadata, "submission_2", "x.ipynb") is None


# --- names: one person, however the LMS writes them ----------------------------------------------------

@pytest.mark.parametrize("roster_name,lms_name", [
    ("Seán O'Brien", "obrienseán"), ("Ana García-López", "garcíalópezana"), ("Fatima Al-Sayed", "alsayedfatima"),
    ("Seán O'Brien", "O'Brien, Seán"), ("Ana García-López", "ana garcia lopez"), ("Mary Ann Lee", "leemaryann"),
    ("Juan de la Cruz", "cruzjuandela"), ("Zoë  Ng", "ngzoe"), ("Fatima Al‑Sayed", "Fatima Al Sayed"),
])
def test_a_name_matches_however_the_lms_writes_it(roster_name, lms_name):
    assert name_forms(roster_name) & name_forms(lms_name)


@pytest.mark.parametrize("roster_name,lms_name", [
    ("Ann Smith", "smithanna"), ("Seán O'Brien", "obriensian"), ("Ana García", "garcíalópezana"),
])
def test_different_names_do_not_match(roster_name, lms_name):
    assert not name_forms(roster_name) & name_forms(lms_name)


def entry(id, name, email="", **ids):
    return RosterEntry(id, name, email, **ids)


def test_lms_ids_come_before_emails_and_names():
    from autograder.collect import Person
    index = RosterIndex([entry("s1", "Ann Smith", "ann@x.edu", canvas_id="12345"),
                         entry("s2", "Ann Smith", "ann2@x.edu", canvas_id="12346"),
                         entry("s3", "Bo Lee", "bo@x.edu", gradescope_sid="77")])
    assert index.match(Person("canvas", "12346", "smithann_12346", ("smithann",))).ids == {"s2"}
    # Both Ann Smiths have another Canvas id: a third Canvas Ann Smith is a namesake of both, neither of them.
    assert not index.match(Person("canvas", "99999", "smithann_99999", ("smithann",))).ids
    assert index.match(Person("gradescope", "77", "x", ("Someone Else",))).how == "gradescope_sid"
    assert index.match(Person("gradescope", "78", "x", (), "bo@x.edu")).how == "email"
    # A Canvas user id is never read as a roster id, even when they are equal.
    assert not index.match(Person("canvas", "s3", "zz_s3", ("zz",))).ids
    assert not index.match(Person("canvas", "anon_x", "anon_x", (), anonymous=True)).ids


def test_a_login_matches_an_id_or_email_login_only_without_an_lms_column():
    from autograder.collect import Person
    plain = RosterIndex([entry("s1", "Ann Smith", "asmith@x.edu")])
    assert plain.match(Person("blackboard", "asmith", "asmith")).ids == {"s1"}
    with_column = RosterIndex([entry("s1", "Ann Smith", "asmith@x.edu", blackboard_login="as77")])
    assert not with_column.match(Person("blackboard", "asmith", "asmith")).ids
    assert with_column.match(Person("blackboard", "as77", "as77")).how == "blackboard_login"


@pytest.mark.parametrize("lms,column", [("blackboard", "blackboard_login"), ("gradescope", "gradescope_sid")])
def test_an_empty_lms_id_cell_matches_by_id_or_email_login_as_if_the_column_were_absent(tmp_path, lms, column):
    """A class list where some have the LMS id and others' cells are empty: the empty ones still match as before."""
    from autograder.collect import Person
    (tmp_path / "roster.csv").write_text(f"id,name,email,{column}\ns1,Ann Smith,asmith@x.edu,as77\n"
                                         f"s2,Bo Lee,blee@x.edu,\ns3,Cy Young,cyoung@x.edu,\n")
    index = RosterIndex(read_roster(tmp_path / "roster.csv"))
    assert index.match(Person(lms, "blee", "blee")) == Match(frozenset({"s2"}), "id or email login")
    assert index.match(Person(lms, "s3", "s3")).ids == {"s3"}
    assert index.match(Person(lms, "as77", "as77")).how == column
    # A non-empty id that differs is another person, even with ann's email login.
    assert not index.match(Person(lms, "asmith", "asmith")).ids


@pytest.mark.parametrize("lms,column", [("canvas", "canvas_id"), ("moodle", "moodle_id")])
def test_an_empty_canvas_or_moodle_cell_leaves_the_name_to_match(lms, column):
    from autograder.collect import Person
    index = RosterIndex([entry("s1", "Ann Smith", "a@x.edu", **{column: "101"}), entry("s2", "Bo Lee", "b@x.edu")])
    assert index.match(Person(lms, "102", "leebo_102", ("leebo",))) == Match(frozenset({"s2"}), "name")
    assert not index.match(Person(lms, "102", "smithann_102", ("smithann",))).ids  # ann's number is 101


@pytest.mark.parametrize("text,words", [
    ("id,name,email,canvas_id\ns1,Ann,a@x.edu,12a\n", "line 2: canvas_id '12a' is not a number"),
    ("id,name,email,moodle_id\ns1,Ann,a@x.edu,7\ns2,Bo,b@x.edu,7\n", "line 3: moodle_id '7' is already on line 2"),
    ("id,name,email,blackboard_login\ns1,Ann,a@x.edu,ann smith\n", "line 2: blackboard_login 'ann smith' holds"),
    ("id,name,email,gradescope_sid\ns1,Ann,a@x.edu,9\ns2,Bo,b@x.edu,9\n", "line 3: gradescope_sid '9' is already"),
])
def test_lms_id_columns_are_checked_line_by_line(tmp_path, text, words):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(CollectError, match="roster") as err:
        read_roster(tmp_path / "roster.csv")
    assert words in str(err.value)


def test_lms_id_columns_are_read(tmp_path):
    (tmp_path / "roster.csv").write_text("id,name,email,Canvas_ID,moodle_id,blackboard_login,gradescope_sid\n"
                                         "s1,Ann Smith,a@x.edu,12345,1001,asmith,9001\ns2,Bo Lee,b@x.edu,,,,\n")
    first, second = read_roster(tmp_path / "roster.csv")
    assert (first.canvas_id, first.moodle_id, first.blackboard_login, first.gradescope_sid) == \
        ("12345", "1001", "asmith", "9001")
    assert second.lms_id("canvas") == "" and first.lms_id("blackboard") == "asmith"

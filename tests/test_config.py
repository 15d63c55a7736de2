"""helpers.config: the run profile is looked up when it is asked for, so that a bad
TRIPLET_COURSE_PROFILE fails with one line where the profile is used — never at ``import helpers``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import config
from helpers.config import PROFILE_ENV, ProfileError, get_profile

ROOT = Path(__file__).resolve().parents[1]
BOGUS = "TRIPLET_COURSE_PROFILE='bogus' is not a profile; choose one of reader, quick, full"


def run_python(code, profile):
    env = {**os.environ, PROFILE_ENV: profile}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_import_helpers_never_fails_because_of_the_profile_variable():
    proc = run_python("import helpers, helpers.config, helpers.book, helpers.manifest, helpers.runner\n"
                      "print('imported')", "bogus")
    assert proc.returncode == 0 and proc.stdout == "imported\n", proc.stderr


def test_import_helpers_imports_no_other_module():
    """What ``python -m helpers.book`` runs before its Ctrl-C guard is Python's start and the
    package's ``__init__``: importing helpers.config there (it did, for PROFILE) would widen that
    window and make an environment variable able to break every import of helpers."""
    proc = run_python("import sys\nbefore = set(sys.modules)\nimport helpers\n"
                      "print(' '.join(sorted(set(sys.modules) - before)))", "quick")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["helpers"]


def test_a_bad_profile_raises_profile_error_with_a_one_line_message(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "bogus")
    with pytest.raises(ProfileError) as err:
        get_profile()
    assert str(err.value) == BOGUS
    assert isinstance(err.value, ValueError), "callers catching ValueError keep working"


@pytest.mark.parametrize("statement", ["from helpers.config import PROFILE", "import helpers; helpers.PROFILE",
                                       "import helpers.config; helpers.config.PROFILE"])
def test_asking_for_the_profile_with_a_bad_value_is_profile_error_not_import_error(statement):
    proc = run_python(f"{statement}\n", "bogus")
    assert proc.returncode == 1
    assert proc.stderr.rstrip().splitlines()[-1] == f"helpers.config.ProfileError: {BOGUS}", proc.stderr


@pytest.mark.parametrize("value, name", [("quick", "quick"), ("  Quick ", "quick"), ("reader", "reader"),
                                         ("", "reader"), (None, "reader")])
def test_profile_follows_the_environment_when_asked_for(monkeypatch, value, name):
    if value is None:
        monkeypatch.delenv(PROFILE_ENV, raising=False)
    else:
        monkeypatch.setenv(PROFILE_ENV, value)
    from helpers.config import PROFILE

    import helpers

    assert PROFILE.name == name and helpers.PROFILE == PROFILE == config.PROFILE == get_profile()


def test_chapters_import_the_profile_as_before():
    proc = run_python("from helpers.config import PROFILE\nprint(PROFILE.name, PROFILE.pick(reader=25, quick=2))",
                      "quick")
    assert proc.stdout == "quick 2\n", proc.stderr


def test_the_message_stays_one_line_whatever_the_variable_holds(monkeypatch):
    monkeypatch.setenv(PROFILE_ENV, "fast\n\x1b[31mred")
    with pytest.raises(ProfileError) as err:
        get_profile()
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
    assert str(err.value).startswith("TRIPLET_COURSE_PROFILE='fast\\n\\x1b[31mred' is not a profile")


def test_an_explicit_name_that_is_no_profile_says_so():
    with pytest.raises(ProfileError, match=r"^'fast' is not a profile; choose one of reader, quick, full$"):
        get_profile("fast")


def test_other_missing_attributes_are_still_attribute_errors():
    import helpers

    with pytest.raises(AttributeError, match="has no attribute 'PROFILES_'"):
        config.PROFILES_  # noqa: B018
    assert "PROFILE" in dir(config) and "PROFILE" in dir(helpers)


def test_each_profile_has_its_limits_and_picks():
    reader, quick, full = (get_profile(n) for n in ("reader", "quick", "full"))
    assert (reader.train_limit, reader.test_limit) == (config.READER_TRAIN_LIMIT, config.READER_TEST_LIMIT)
    assert (quick.train_limit, quick.test_limit) == (2000, 500)
    assert (full.train_limit, full.test_limit) == (None, None)
    assert [p.pick(reader=25, quick=3) for p in (reader, quick, full)] == [25, 3, 25]
    assert [p.pick(reader=25, quick=3, full=50) for p in (reader, quick, full)] == [25, 3, 50]
    assert not full.quick and quick.quick

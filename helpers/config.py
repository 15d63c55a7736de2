"""Run profiles: the reader's default and a quick one for CI (introduced in chapter 0).

Chapters never read environment variables themselves; they ask this module::

    from helpers.config import PROFILE
    epochs = PROFILE.pick(reader=25, quick=2)

The environment variable ``TRIPLET_COURSE_PROFILE`` selects the profile; all three use real MNIST
and print real, measured numbers:

``reader`` (the default)
    A time budget, not a data budget: at most ``READER_TRAIN_LIMIT`` = 4,000 training and
    ``READER_TEST_LIMIT`` = 1,000 test images per chapter (a stratified draw, the offline subset's
    sizes), so that the whole course takes the same ten minutes on a 2-core laptop whether it
    runs on full MNIST (60,000 / 10,000) or on the offline subset (which the limits leave whole).
    ``load_course_data`` says so in one printed line when a limit cuts the data.
``quick``
    Fewer images (2,000 / 500) and epochs, so that CI runs every chapter in minutes.
``full``
    Every image of the source and the reader's epochs (``pick`` returns the ``reader`` value
    unless a ``full`` one is given): for those with the time, or a GPU.

``PROFILE`` is looked up when it is asked for (``from helpers.config import PROFILE``,
``helpers.config.PROFILE`` or ``helpers.PROFILE``), never at import: importing this module (or
``helpers``) cannot fail, whatever the environment says. Asking for the profile while the variable
names none raises :class:`ProfileError`, whose message is one line; programs check it at start-up
with :func:`get_profile`.

``TRIPLET_COURSE_DATA`` forces the data source used by ``helpers.data.load_mnist("auto")``
(``keras``, ``offline`` or a path), and ``TRIPLET_COURSE_CACHE`` moves the download cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

PROFILE_ENV = "TRIPLET_COURSE_PROFILE"
DATA_ENV = "TRIPLET_COURSE_DATA"
CACHE_ENV = "TRIPLET_COURSE_CACHE"
PROFILES = ("reader", "quick", "full")
#: The reader profile's limits: the offline subset's sizes, so a chapter's time does not depend on
#: the source (measured: ``make course`` on a 60,000-image stand-in, see the README).
READER_TRAIN_LIMIT = 4000
READER_TEST_LIMIT = 1000


@dataclass(frozen=True)
class Profile:
    """The active run profile.

    Attributes:
        name: ``"reader"``, ``"quick"`` or ``"full"``.
        train_limit: at most this many training images per chapter (``None``: all of them).
        test_limit: at most this many test images (``None``: all of them).
    """

    name: str
    train_limit: int | None
    test_limit: int | None

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    def pick(self, *, reader: Any, quick: Any, full: Any = None) -> Any:
        """Return ``quick`` in the quick profile, ``full`` (default: ``reader``) in the full one,
        and ``reader`` otherwise."""
        if self.quick:
            return quick
        return reader if full is None or self.name != "full" else full


class ProfileError(ValueError):
    """``TRIPLET_COURSE_PROFILE`` (or the name asked for) is not a profile; the message is one line."""


def get_profile(name: str | None = None) -> Profile:
    """Build the profile called ``name``, or the one ``TRIPLET_COURSE_PROFILE`` selects (unset or
    empty: ``reader``; case and surrounding spaces do not matter).

    Raises:
        ProfileError: the name is not one of :data:`PROFILES`.
    """
    if name is None:
        given = os.environ.get(PROFILE_ENV, "")
        wanted, where = given.strip().lower() or "reader", f"{PROFILE_ENV}={given!r}"
    else:
        wanted, where = name, repr(name)
    if wanted not in PROFILES:
        raise ProfileError(f"{where} is not a profile; choose one of {', '.join(PROFILES)}")
    if wanted == "quick":
        return Profile(name="quick", train_limit=2000, test_limit=500)
    if wanted == "full":
        return Profile(name="full", train_limit=None, test_limit=None)
    return Profile(name="reader", train_limit=READER_TRAIN_LIMIT, test_limit=READER_TEST_LIMIT)


def __getattr__(name: str) -> Any:
    """``PROFILE``: the profile the environment selects, looked up on each use (PEP 562), so that
    importing this module never fails because of the environment."""
    if name == "PROFILE":
        return get_profile()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "PROFILE"])

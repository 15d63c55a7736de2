"""Run profiles: the reader's default and a quick one for CI (introduced in chapter 0).

Chapters never read environment variables themselves; they ask this module::

    from helpers.config import PROFILE
    epochs = PROFILE.pick(reader=25, quick=2)

The environment variable ``TRIPLET_COURSE_PROFILE`` selects the profile: ``reader`` (the default)
or ``quick`` (fewer images and epochs, so that CI runs every chapter in minutes). Both profiles use
real MNIST and print real, measured numbers; the quick one simply measures less.

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
PROFILES = ("reader", "quick")


@dataclass(frozen=True)
class Profile:
    """The active run profile.

    Attributes:
        name: ``"reader"`` or ``"quick"``.
        train_limit: at most this many training images per chapter (``None``: all of them).
        test_limit: at most this many test images (``None``: all of them).
    """

    name: str
    train_limit: int | None
    test_limit: int | None

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    def pick(self, *, reader: Any, quick: Any) -> Any:
        """Return ``quick`` in the quick profile and ``reader`` otherwise."""
        return quick if self.quick else reader


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
    return Profile(name="reader", train_limit=None, test_limit=None)


def __getattr__(name: str) -> Any:
    """``PROFILE``: the profile the environment selects, looked up on each use (PEP 562), so that
    importing this module never fails because of the environment."""
    if name == "PROFILE":
        return get_profile()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "PROFILE"])

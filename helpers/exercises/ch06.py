"""Exercises of chapter 6 — retrieving digits never seen in training."""

from __future__ import annotations

from helpers.exercises import _answers, exercise

_PER_DIGIT = 50  # test images of each digit, in both questions of 6.1


def _chance_precision_at_1(classes, per_class=_PER_DIGIT):
    """A random leave-one-out ranking: the query's digit has per_class − 1 of the other images."""
    return (per_class - 1) / (classes * per_class - 1)


@exercise("6.1", "chance levels: seven digits against three", "concept",
          why="A random ranking puts a same-digit image first with probability R/M: R other images "
              "of the query's digit among M other images. Seven competing digits give about 1/7, three "
              "about 1/3 — a gap no representation earns, which is why the chapter searches the seen "
              "digits three at a time.")
def chance_levels(answer):
    """(seen, unseen): chance precision@1 of the 7 seen digits searched together and of 7, 8, 9."""
    values = _answers.numbers(answer, 2, "(chance P@1 of the seven seen digits searched together, "
                                         "chance P@1 of the three unseen digits)")
    if isinstance(values, str):
        return values
    seen, unseen = values
    want_seen, want_unseen = _chance_precision_at_1(7), _chance_precision_at_1(3)
    if abs(seen - want_seen) <= 1e-3 and abs(unseen - want_unseen) <= 1e-3:
        return None
    if abs(seen - want_unseen) <= 1e-3 and abs(unseen - want_seen) <= 1e-3:
        return "the two are swapped: which search has more digits competing for the first rank?"
    if abs(seen - 1 / 7) <= 1e-4 or abs(unseen - 1 / 3) <= 1e-4:
        return ("close, but leave-one-out: the query is not in the gallery, so its own digit has one "
                "image fewer among the candidates, and the gallery one image fewer in all")
    if abs(seen - unseen) <= 1e-3:
        return ("the two searches do not have the same chance level: count the digits that compete "
                "in each")
    return ("for a random ranking, the first image is any of the other images with equal "
            "probability: count the other images of the query's digit, and all the other images")


@exercise("6.2", "an embedding equally good on every digit", "experiment",
          why="The embedding is equally good everywhere, so any 'gap' between the seven seen digits "
              "searched together and the three unseen ones is arithmetic: three competing classes "
              "score higher than seven, by chance alone. Searched three at a time, the seen digits "
              "score about like the unseen ones.")
def equal_embedding(answer):
    """Multiple choice (a–d) on what the experiment's seen-versus-unseen comparison shows."""
    return _answers.choose(answer, "c", {
        "a": "read the printed scores again: which of the two searches scores higher?",
        "b": "this embedding is equally good on every digit by construction — nothing is better on "
             "the unseen digits. What else differs between the two searches? The chance levels of "
             "exercise 6.1 may help",
        "d": "equally many images per digit is only half of equal footing: count the digits that "
             "compete in each search, and look at the score of the seen digits searched three at a time",
    })

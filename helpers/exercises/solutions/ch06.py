"""Solutions to chapter 6's exercises — retrieving digits never seen in training."""


def chance_levels():
    """6.1: a random leave-one-out ranking puts a same-digit image first with probability R / M.

    With 50 test images per digit, R = 49 other images of the query's digit; M = all other images.
    """
    per_digit = 50
    seen_together = (per_digit - 1) / (7 * per_digit - 1)  # 49 / 349
    unseen = (per_digit - 1) / (3 * per_digit - 1)  # 49 / 149
    return seen_together, unseen


def equal_embedding():
    """6.2: the comparison says nothing about generalisation: fewer digits compete, higher chance."""
    return "c"


RIGHT = {
    "6.1": chance_levels,
    "6.2": equal_embedding,
}

WRONG = {
    "6.1": [
        lambda: (1 / 7, 1 / 3),  # forgets leave-one-out
        lambda: (49 / 149, 49 / 349),  # swapped
        lambda: (0.1, 0.1),  # "chance is chance"
    ],
    "6.2": [
        lambda: "a",
        lambda: "b",  # reads the higher unseen score as better generalisation
        lambda: "d",  # "equal images per digit make it fair"
    ],
}

EXPLAIN = {
    "6.1": "For a random ranking every other image is equally likely to come first, so P@1 is "
           "R / M: R = 49 other images of the query's digit among M other images — 49/349 ≈ 0.140 "
           "with seven digits, 49/149 ≈ 0.329 with three. More than twice as high with three digits, "
           "for no merit of the representation: the reason the chapter searches the seen digits in "
           "groups of three before comparing them with the three unseen ones.",
    "6.2": "The experiment's embedding is equally good on every digit by construction, yet it "
           "scores far higher on the three 'unseen' digits than on the seven 'seen' ones searched "
           "together: three competing classes make every retrieval score higher, chance included. "
           "Searched three at a time, the seen digits score about like the unseen ones — the fair "
           "comparison, which shows no gap because there is none.",
}

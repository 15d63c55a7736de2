"""Solutions to chapter 3's exercises — Keras label-concatenation wiring."""

import numpy as np


def largest_exact_integer(dtype):
    """Every integer 0 … 2**(nmant + 1) is exact: nmant stored bits plus the implicit leading one."""
    return 2 ** (np.finfo(dtype).nmant + 1)


def float32_identities():
    """3.2: labels 0 … 19,999,999 as float32 — how many distinct classes remain?

    Up to 2**24 every integer is exact (3.1). Between 2**24 and 2**25 float32 values are 2 apart,
    so the labels above 2**24 land on the even numbers 2**24 + 2, …, 20,000,000: half as many.
    """
    n_labels = 20_000_000
    exact = 2**24 + 1  # 0, 1, …, 2**24
    above = (n_labels - 2**24) // 2  # 2**24 + 2, 2**24 + 4, …, 20,000,000
    return exact + above


RIGHT = {
    "3.1": lambda: largest_exact_integer,
    "3.2": float32_identities,
}

WRONG = {
    "3.1": [
        lambda: (lambda dtype: 2 ** np.finfo(dtype).nmant),  # forgets the implicit bit
        lambda: (lambda dtype: np.finfo(dtype).max),  # the largest float, not the largest exact integer
    ],
    "3.2": [
        lambda: 20_000_000,  # "no label is lost"
        lambda: 2**24,  # "everything above 2**24 collapses"
        lambda: 2**24 + (20_000_000 - 2**24) // 4,  # spacing 4 instead of 2
    ],
}

EXPLAIN = {
    "3.1": "A binary float with p significand bits (np.finfo(dtype).nmant stored, plus the implicit "
           "leading 1) represents every integer up to 2**p exactly; 2**p + 1 needs one bit more. "
           "So N = 2**11 = 2,048 for float16, 2**24 = 16,777,216 for float32, 2**53 for float64.",
    "3.2": "Labels up to 2**24 are exact. Above it, float32's neighbouring values are 2 apart (up to "
           "2**25), so every odd label rounds onto an even neighbour (ties to even: a multiple of 4 "
           "takes both its odd neighbours): 2**24 + 1 + (20,000,000 − 2**24) / 2 = 18,388,609 "
           "classes, as measured. About 1.6 million identities merge into others with no error, and "
           "the loss trains on wrong positives. Keras casts y_true to the model's float dtype as "
           "well, so the modern wiring has the same limit: number the identities below 2**24 "
           "(2**11 under float16).",
}

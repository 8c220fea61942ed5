"""Phrase banks for review texts, one per sentiment level (1 = very negative ... 5 = very positive).

A review is an opening about the product's noun, an aspect sentence for its department, and
sometimes a closing line. Texts are plain and sarcasm-free, so a text's sentiment is what its
words say.
"""

from __future__ import annotations

__all__ = ["ASPECTS", "CLOSINGS", "OPENINGS", "TITLES"]

#: ``{noun}`` is replaced by the product's noun ("coffee", "headphones").
OPENINGS: dict[int, tuple[str, ...]] = {
    1: (
        "Terrible {noun}, do not buy it.",
        "Awful {noun} and a complete waste of money.",
        "The worst {noun} I have ever bought.",
        "Really bad {noun}, very disappointed.",
        "This {noun} is useless and poor quality.",
    ),
    2: (
        "Disappointed with this {noun}.",
        "The {noun} was not great.",
        "Below average {noun}, I expected more.",
        "Not impressed with the {noun}.",
        "The {noun} is a bit of a letdown.",
    ),
    3: (
        "The {noun} is okay.",
        "Decent {noun}, nothing special.",
        "An average {noun} that does the job.",
        "Mixed feelings about this {noun}.",
        "The {noun} is fine for the price.",
    ),
    4: (
        "Really good {noun}.",
        "Very happy with this {noun}.",
        "Nice {noun}, I would buy it again.",
        "A solid {noun} and good value.",
        "Good {noun}, pleased with it.",
    ),
    5: (
        "Absolutely love this {noun}!",
        "The best {noun} I have bought in years.",
        "Excellent {noun}, highly recommend it.",
        "Fantastic {noun}, perfect in every way.",
        "Amazing {noun}, great quality.",
    ),
}

#: Aspect sentences per department family: (negative, neutral, positive).
ASPECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "food": (
        ("It tasted stale.", "The taste was bland and watery.", "It went off far too quickly."),
        ("The taste is fine.", "Freshness was as expected.", "The portion size is standard."),
        ("The taste is wonderful.", "Very fresh and delicious.", "My family loved the flavour."),
    ),
    "household": (
        ("It barely cleans anything.", "The smell is unpleasant.", "It runs out far too fast."),
        ("It cleans reasonably well.", "The scent is mild.", "It lasts about as long as others."),
        ("It cleans brilliantly.", "Lovely fresh scent.", "A little goes a long way."),
    ),
    "care": (
        ("It irritated my skin.", "The texture is greasy.", "It did nothing for me."),
        ("It works as described.", "The texture is ordinary.", "The scent is neutral."),
        ("Gentle and effective.", "Works wonders for me.", "The texture is lovely."),
    ),
    "electronics": (
        ("It stopped working after a week.", "The sound is tinny.", "The battery dies quickly."),
        ("The sound is acceptable.", "Setup was straightforward.", "Battery life is average."),
        ("The sound is superb.", "Battery life is excellent.", "Works flawlessly every day."),
    ),
    "home": (
        ("It broke after a few uses.", "Cheap materials.", "It looks nothing like the photo."),
        ("It looks as pictured.", "The build is acceptable.", "It does what it should."),
        ("Beautifully made.", "Sturdy and well designed.", "It looks great in our home."),
    ),
    "toys": (
        ("Pieces were missing.", "My kids lost interest immediately.", "It fell apart quickly."),
        ("The kids played with it for a while.", "Instructions were clear.", "It is fine."),
        ("The kids adore it.", "Hours of fun for the whole family.", "Great quality and fun."),
    ),
    "pet": (
        ("My dog refused to eat it.", "It upset my pet's stomach.", "Poor quality ingredients."),
        ("My pet eats it.", "The ingredients seem standard.", "Nothing special for my cat."),
        ("My pet loves it.", "Healthy and happy pet since switching.", "Great ingredients."),
    ),
}

CLOSINGS: dict[int, tuple[str, ...]] = {
    1: ("Returning it.", "Never again.", "Avoid."),
    2: ("Will not buy again.", "Would not recommend.", "Not worth it."),
    3: ("Might try something else next time.", "It is alright.", "Maybe I will buy it again."),
    4: ("Would recommend.", "Will buy again.", "Good value."),
    5: ("Will definitely buy again!", "Highly recommended!", "Five stars from me."),
}

TITLES: dict[int, tuple[str, ...]] = {
    1: ("Terrible", "Waste of money", "Awful"),
    2: ("Disappointing", "Not great", "Meh"),
    3: ("Okay", "Average", "It's fine"),
    4: ("Good", "Pretty good", "Happy"),
    5: ("Excellent", "Love it", "Perfect"),
}

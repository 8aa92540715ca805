"""Write ``topics.tsv``: short English sentences about four topics, from templates.

    python comparison/data/make_topics.py        # rewrites comparison/data/topics.tsv

Every sentence is a template (below) with its slots filled from the word lists
below, chosen by a seeded NumPy generator, so the file is reproducible byte for byte.
The held-out ("test") sentences come from templates that the training sentences never
use, so a classifier has to generalise beyond the training sentence shapes (the word
lists are shared). See README.md next to this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

SEED = 20240607
N_TRAIN, N_TEST = 80, 25  # sentences per class
LABELS = ["sports", "food", "weather", "technology"]

FILL: dict[str, dict[str, list[str]]] = {
    "sports": {
        "team": [
            "the home team",
            "our club",
            "the visitors",
            "the national side",
            "the champions",
            "the underdogs",
            "the youth squad",
            "the league leaders",
        ],
        "player": [
            "the striker",
            "the goalkeeper",
            "the captain",
            "the young winger",
            "the veteran defender",
            "the sprinter",
            "the tennis star",
            "the point guard",
        ],
        "event": [
            "the final",
            "the derby",
            "the semi-final",
            "the marathon",
            "the cup match",
            "the tournament",
            "the relay race",
            "the title decider",
        ],
        "action": [
            "scored twice",
            "won the match",
            "broke the record",
            "missed a penalty",
            "defended brilliantly",
            "finished first",
            "lost in extra time",
            "equalised late",
        ],
    },
    "food": {
        "dish": [
            "the soup",
            "the pasta",
            "the curry",
            "the roast chicken",
            "the chocolate cake",
            "the salad",
            "the fresh bread",
            "the grilled fish",
        ],
        "cook": [
            "the chef",
            "my grandmother",
            "the baker",
            "the new restaurant",
            "our neighbour",
            "the street vendor",
            "the cafe",
            "the cooking class",
        ],
        "taste": [
            "delicious",
            "too salty",
            "wonderfully spicy",
            "a bit bland",
            "sweet and rich",
            "perfectly seasoned",
            "crispy",
            "tender and juicy",
        ],
        "ingredient": [
            "garlic",
            "fresh basil",
            "butter",
            "lemon zest",
            "chili peppers",
            "parmesan",
            "ginger",
            "olive oil",
        ],
    },
    "weather": {
        "sky": [
            "heavy rain",
            "a thunderstorm",
            "thick fog",
            "strong winds",
            "bright sunshine",
            "light snow",
            "a heatwave",
            "freezing drizzle",
        ],
        "when": [
            "tomorrow morning",
            "this weekend",
            "tonight",
            "on Monday",
            "later today",
            "over the holiday",
            "by the afternoon",
            "next week",
        ],
        "place": [
            "the coast",
            "the mountains",
            "the city centre",
            "the northern valleys",
            "the islands",
            "the airport",
            "the southern plains",
            "the lake district",
        ],
        "temp": [
            "well below freezing",
            "unusually warm",
            "mild",
            "cold and damp",
            "hot and humid",
            "close to zero",
            "cooler than average",
            "above thirty degrees",
        ],
    },
    "technology": {
        "device": [
            "the new phone",
            "the laptop",
            "the smartwatch",
            "the tablet",
            "the wireless router",
            "the graphics card",
            "the game console",
            "the e-reader",
        ],
        "company": [
            "the startup",
            "the chip maker",
            "the software firm",
            "the tech giant",
            "the app developer",
            "the cloud provider",
            "the robotics company",
            "the browser team",
        ],
        "feature": [
            "a faster processor",
            "longer battery life",
            "a brighter screen",
            "better encryption",
            "more memory",
            "a new operating system update",
            "voice control",
            "a sharper camera",
        ],
        "issue": [
            "crashes on startup",
            "drains the battery",
            "overheats quickly",
            "loses its connection",
            "needs a security patch",
            "runs slowly",
            "fails to update",
            "freezes during calls",
        ],
    },
}

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "sports": {
        "train": [
            "{player} {action} in {event}.",
            "{team} {action} last night.",
            "Fans cheered as {player} {action}.",
            "In {event}, {team} {action}.",
            "{team} prepare for {event} on Saturday.",
            "The coach praised {player} after {event}.",
            "Tickets for {event} sold out in an hour.",
            "{player} {action} and {team} celebrated.",
            "Everyone is talking about how {team} {action}.",
            "{team} signed {player} before {event}.",
        ],
        "test": [
            "Highlights show {player} as {team} {action} in {event}.",
            "Commentators said {team} {action} thanks to {player}.",
            "After training, {player} spoke about {event}.",
        ],
    },
    "food": {
        "train": [
            "{cook} made {dish} with {ingredient}.",
            "{dish} tasted {taste}.",
            "I think {dish} from {cook} is {taste}.",
            "Add {ingredient} to {dish} before serving.",
            "{cook} serves {dish} every Friday.",
            "The recipe for {dish} needs plenty of {ingredient}.",
            "Dinner was {dish}, and it was {taste}.",
            "{cook} taught us how to cook {dish}.",
            "We ordered {dish} and found it {taste}.",
            "A little {ingredient} makes {dish} {taste}.",
        ],
        "test": [
            "Reviewers called {dish} by {cook} {taste}.",
            "My favourite lunch is {dish} with extra {ingredient}.",
            "Season {dish} with {ingredient} and let it simmer.",
        ],
    },
    "weather": {
        "train": [
            "Expect {sky} over {place} {when}.",
            "Forecasters predict {sky} {when}.",
            "It will be {temp} in {place} {when}.",
            "{sky} is likely across {place}.",
            "Temperatures will stay {temp} {when}.",
            "Drivers in {place} should prepare for {sky}.",
            "The outlook for {when} is {sky} and {temp}.",
            "After {sky}, {place} will feel {temp}.",
            "A warning for {sky} covers {place} {when}.",
            "Bring a coat: {when} looks {temp}.",
        ],
        "test": [
            "Meteorologists expect {place} to be {temp} with {sky}.",
            "Radar shows {sky} moving towards {place}.",
            "Residents of {place} woke up to {sky} {when}.",
        ],
    },
    "technology": {
        "train": [
            "{company} announced {device} with {feature}.",
            "Users report that {device} {issue}.",
            "{device} now offers {feature}.",
            "{company} released a fix because {device} {issue}.",
            "Reviewers liked {feature} on {device}.",
            "{company} is testing {feature} for {device}.",
            "My copy of {device} {issue}.",
            "The update gives {device} {feature}.",
            "Engineers at {company} redesigned {device}.",
            "Customers complained that {device} {issue}.",
        ],
        "test": [
            "A teardown of {device} from {company} reveals {feature}.",
            "Support forums say {device} {issue} after the update.",
            "Analysts expect {company} to ship {device} with {feature}.",
        ],
    },
}


def fill(template: str, words: dict[str, list[str]], rng: np.random.Generator) -> str:
    text = re.sub(
        r"\{(\w+)\}", lambda m: words[m.group(1)][rng.integers(len(words[m.group(1)]))], template
    )
    return text[0].upper() + text[1:]


def make_rows(seed: int = SEED) -> list[tuple[str, str, str]]:
    """(split, label, text) rows: N_TRAIN + N_TEST distinct sentences per class."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str]] = []
    for label in LABELS:
        for split, n in (("train", N_TRAIN), ("test", N_TEST)):
            seen: set[str] = set()
            templates = TEMPLATES[label][split]
            while len(seen) < n:
                text = fill(templates[rng.integers(len(templates))], FILL[label], rng)
                if text not in seen:
                    seen.add(text)
                    rows.append((split, label, text))
    return rows


def render(rows: list[tuple[str, str, str]]) -> str:
    return "split\tlabel\ttext\n" + "".join(f"{s}\t{lab}\t{t}\n" for s, lab, t in rows)


if __name__ == "__main__":
    out = Path(__file__).with_name("topics.tsv")
    rows = make_rows()
    out.write_text(render(rows))
    print(f"wrote {len(rows)} sentences to {out}")

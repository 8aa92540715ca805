"""Write ``numbers_en_fr.tsv``: the numbers 1 to 999 written out in English and in
French, a rule-based toy translation corpus (no other source).

    python comparison/data/make_numbers.py   # rewrites the file, byte for byte the same

French follows the traditional spelling rules: hyphens inside the tens
(dix-sept, quatre-vingt-deux), "et" for 21, 31, …, 71 (vingt et un, soixante et onze),
vingt and cent take an s when multiplied and final (quatre-vingts, deux cents) but
not when followed (quatre-vingt-un, deux cent trois). English: "three hundred
twenty-one" (no "and"). 17 numbers of each hundred, chosen by a NumPy generator
seeded with 20241201, are held out ("test"); the rest is "train". The script checks
that every word of the held-out side also occurs in training (so a word-level
tokenizer trained on "train" covers "test").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "numbers_en_fr.tsv"
SEED = 20241201

EN_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen").split()  # fmt: skip
EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
FR_UNITS = ("zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize "
            "quatorze quinze seize dix-sept dix-huit dix-neuf").split()  # fmt: skip
FR_TENS = "_ _ vingt trente quarante cinquante soixante".split()


def english(n: int) -> str:
    words = []
    if n >= 100:
        words += [EN_UNITS[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return " ".join(words)
    if n < 20:
        words.append(EN_UNITS[n])
    else:
        words.append(EN_TENS[n // 10] + (f"-{EN_UNITS[n % 10]}" if n % 10 else ""))
    return " ".join(words)


def _french_below_100(n: int, final: bool) -> str:
    if n < 20:
        return FR_UNITS[n]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix.., quatre-vingt-dix..: 60/80 + 10..19
        base = "soixante" if tens == 7 else "quatre-vingt"
        rest = n - (60 if tens == 7 else 80)
        joiner = " et " if n == 71 else "-"
        return base + joiner + FR_UNITS[rest]
    if tens == 8:
        return "quatre-vingt" + (f"-{FR_UNITS[unit]}" if unit else ("s" if final else ""))
    if unit == 0:
        return FR_TENS[tens]
    return FR_TENS[tens] + (" et un" if unit == 1 else f"-{FR_UNITS[unit]}")


def french(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        head = "cent" if hundreds == 1 else f"{FR_UNITS[hundreds]} cent"
        words.append(head + ("s" if hundreds > 1 and rest == 0 else ""))
    if rest or not hundreds:
        words.append(_french_below_100(rest, final=True))
    return " ".join(words)


def rows() -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(SEED)
    test: set[int] = set()
    for h in range(10):
        pool = list(range(max(1, 100 * h), 100 * h + 100))
        test.update(int(x) for x in rng.choice(pool, 17, replace=False))
    out = [("test" if n in test else "train", english(n), french(n)) for n in range(1, 1000)]
    words = {side: set() for side in ("train", "test")}
    for split, en, fr in out:
        words[split].update(en.replace("-", " ").split() + fr.replace("-", " ").split())
    missing = words["test"] - words["train"]
    if missing:
        raise RuntimeError(f"held-out words never seen in training: {sorted(missing)}")
    return out


def main() -> None:
    lines = ["split\ten\tfr"] + ["\t".join(r) for r in rows()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(lines) - 1} pairs)")


if __name__ == "__main__":
    main()

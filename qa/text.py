"""Word-level text helpers shared by the chunker, the lexical index, question reading and the ranker.

Tokens are lowercased word characters, stemmed with the Snowball English stemmer, with common
function words dropped. Nothing here depends on the rest of the package. What it leaves out:
languages other than English get no stemming or stop words (their words still match exactly),
and which words are English (the embedding model's vocabulary, `qa.embedder.dictionary_stems`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while
    who whom whose why will with would you your yours yourself yourselves also s t d ll m re ve
    name named tell says say said please r u ur pls plz
    """.split()
)

WORD = re.compile(r"\w+", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Lowercased word tokens, stop words included."""
    return WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Stemmed content terms: the tokens the lexical index and term overlap work on."""
    return [stem(word) for word in words(text) if word not in STOPWORDS and word != "_"]

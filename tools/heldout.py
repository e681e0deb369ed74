"""Write the held-out question sets the rerank and confidence models are fitted on.

    python tools/heldout.py [--out build/heldout]

The reader never trains on `train_reader.HELD_OUT` (10 SQuAD articles of ../shared/train), so its
scores there are what it gives on text it has not seen. Two sets, in `qa eval`'s format (a
`corpus/` folder of one .txt per article beside a `questions.jsonl`):

- `answerable/`: the articles as they are, with all their questions (SQuAD 2.0's unanswerable
  ones included for the three articles that have them);
- `cut/`: the same articles with the sentences holding the answers of up to CUT_PER_ARTICLE
  questions each cut out; those questions, now unanswerable (the article is on topic but no
  longer says), are the set. A question whose answer is still said elsewhere is left out.

What it leaves out: news. ../shared/eval is for measuring only, and no news with questions sits in
../shared/train, so the news figures `qa eval` reports are measured on text none of the fitted
models saw.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_reader import REPO, Article, load_articles, without_sentence  # noqa: E402

CUT_PER_ARTICLE = 40
SEED = 29


def file_name(article: Article) -> str:
    return article.document.title.replace(" ", "_").replace("/", "_") + ".txt"


def write_set(folder: Path, texts: dict[str, str], questions: list[dict]) -> None:
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for stale in corpus.glob("*.txt"):
        stale.unlink()
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")


def answer_cases(article: Article) -> list[dict]:
    text = article.document.text
    return [{"question": question, "answers": [text[a[0] : a[1]]] if a else [], "answerable": a is not None,
             "source": file_name(article)} for question, a in article.questions]


def cut_article(article: Article, rng: random.Random) -> tuple[str, list[dict]]:
    """The article with the answer sentences of a sample of its questions cut, and those questions."""
    text, sentences = article.document.text, list(article.sentences)
    answerable = [(q, a) for q, a in article.questions if a is not None]
    chosen = rng.sample(answerable, min(CUT_PER_ARTICLE, len(answerable)))
    said = [text[a[0] : a[1]] for _, a in chosen]
    holding = sorted({k for _, a in chosen for k, (s, e) in enumerate(sentences) if s <= a[0] < e}, reverse=True)
    for k in holding:
        text, sentences = without_sentence(text, sentences, k)
    cases = [{"question": q, "answers": [], "answerable": False, "source": file_name(article)}
             for (q, _), words in zip(chosen, said) if words.casefold() not in text.casefold()]
    return text, cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "build" / "heldout"))
    args = parser.parse_args()
    out = Path(args.out)
    articles = load_articles(held_out=True)
    write_set(out / "answerable", {file_name(a): a.document.text for a in articles},
              [case for a in articles for case in answer_cases(a)])
    rng = random.Random(SEED)
    cut = {file_name(a): cut_article(a, rng) for a in articles}
    write_set(out / "cut", {name: text for name, (text, _) in cut.items()},
              [case for _, cases in cut.values() for case in cases])
    for name in ("answerable", "cut"):
        rows = (out / name / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        print(f"{out / name}: {len(articles)} articles, {len(rows)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())

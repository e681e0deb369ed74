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
- `one/<article>/`: each cut article alone, the way the product most often runs (one story), with
  all of its questions: answerable where the answer is still in the text, unanswerable where it
  was cut (or SQuAD 2.0 wrote it so). Each article is dressed as a news story: front matter
  (date, author, outlet; the title there too, or as the body's first line the way a saved
  news page starts with its headline) and, for most, a byline line in one of BYLINES' shapes, with
  questions about its author, date and outlet (METADATA_QUESTIONS), answerable only where the
  byline states the field. Names, outlets and dates are drawn at random from made-up lists.

- `news/`: the synthetic-news stories of the "fit" part (`train_reader.synthetic_part`: the reader
  never trains on them) as one folder, each story with front matter (title, date, outlet), with
  their answerable and look-alike unanswerable questions.

And one set that nothing is fitted on, only measured (`make eval`): `build/synthetic-val/`, the
"validation" part of synthetic-news in the same shape, plus its two-turn follow-ups in
`conversations.jsonl`.

What it leaves out: real news. The measuring sets (`make eval`) are never read, so the news-tune
figures `qa eval` reports are measured on text none of the fitted models saw.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_reader import REPO, Article, load_articles, synthetic_stories, without_sentence  # noqa: E402

CUT_PER_ARTICLE = 40
SEED = 29
FIRST_NAMES = ("Maria", "Tomas", "Aiko", "Daniel", "Priya", "Kwame", "Elena", "Jonas", "Leila", "Oscar", "Nadia",
               "Samuel", "Ines", "Viktor", "Grace", "Mehmet")
LAST_NAMES = ("Keller", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Rahman", "Novak", "Alvarez", "Brennan",
              "Castellano", "Haddad", "Petrov", "Whitfield", "Osei", "Dumont", "Varga")
OUTLETS = ("The Northern Ledger", "Harbour Daily", "Capital Wire", "Eastfield Courier", "The Morning Record",
           "Riverside Post", "Global Desk News", "The Evening Dispatch")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
BYLINES = ("By {author}, {outlet}", "{outlet} | {date_iso} | By {author}", "Published {date_iso} by {author}",
           "By {author} ({outlet}), {date_long}", "{date_long} - {outlet} reports. By {author}")
BYLINE_SHARE = 0.8
HEADLINE_SHARE = 0.5
METADATA_QUESTIONS = {
    "author": ("Who wrote this article?", "Who is the author of the story?", "Which journalist wrote the report?",
               "Who is the reporter behind this piece?", "What is the name of the writer?"),
    "date": ("When was this article published?", "What date was the story published on?",
             "On what date was this written?", "When did the report come out?"),
    "source": ("Which outlet published this story?", "What news site reported this?",
               "Which newspaper ran the article?", "Which outlet reported this?"),
}
"""Ways to ask about a story's author, date and outlet, each asked of every `one/` article."""


def file_name(article: Article) -> str:
    return article.document.title.replace(" ", "_").replace("/", "_") + ".txt"


def write_set(folder: Path, texts: dict[str, str], questions: list[dict], conversations: list[dict] = ()) -> None:
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for stale in corpus.glob("*.txt"):
        stale.unlink()
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    if conversations:
        (folder / "conversations.jsonl").write_text("".join(json.dumps(c) + "\n" for c in conversations),
                                                    encoding="utf-8")


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


def dressed_as_news(title: str, text: str, rng: random.Random) -> tuple[str, list[dict]]:
    """`text` with front matter and (mostly) a byline, and questions about its author, date and outlet."""
    day = (rng.randrange(1998, 2025), rng.randrange(1, 13), rng.randrange(1, 29))
    fields = {"author": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", "outlet": rng.choice(OUTLETS),
              "date_iso": f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}",
              "date_long": rng.choice([f"{day[2]} {MONTHS[day[1] - 1]} {day[0]}", f"{MONTHS[day[1] - 1]} {day[2]}, {day[0]}"])}
    byline = rng.choice(BYLINES).format(**fields) if rng.random() < BYLINE_SHARE else ""
    said = {"author": [fields["author"]] if fields["author"] in byline else [],
            "date": [v for v in (fields["date_iso"], fields["date_long"]) if v in byline],
            "source": [fields["outlet"]] if fields["outlet"] in byline else []}
    headline = rng.random() < HEADLINE_SHARE
    stated = [] if headline else [f"title: {title}"]
    stated += [f"date: {fields['date_iso']}", f"author: {fields['author']}", f"source: {fields['outlet']}"]
    front = "---\n" + "\n".join(stated) + "\n---\n"
    cases = [{"question": question, "answers": said[field], "answerable": bool(said[field])}
             for field, questions in METADATA_QUESTIONS.items() for question in questions]
    lines = [title] * headline + [byline] * bool(byline) + [text]
    return front + "\n\n".join(lines), cases


def one_article_set(article: Article, cut_text: str, cut_cases: list[dict], rng: random.Random) -> tuple[str, list[dict]]:
    """The cut article alone, dressed as news, with every question of it that still has its answer
    or lost it to the cut, and the questions about its metadata."""
    kept = [case for case in answer_cases(article)
            if not case["answerable"] or case["answers"][0].casefold() in cut_text.casefold()]
    text, metadata = dressed_as_news(article.document.title, cut_text, rng)
    return text, kept + cut_cases + [{**case, "source": file_name(article)} for case in metadata]


def write_stories(folder: Path, stories: list[dict]) -> None:
    """Synthetic-news stories as one corpus folder (front matter: title, date, outlet), with their
    questions, unanswerable ones included, and their follow-ups."""
    texts = {f"{story['id']}.txt": f"---\ntitle: {story['title']}\ndate: {story['date']}\n"
                                   f"source: {story['outlet']}\n---\n{story['text']}" for story in stories}
    questions, conversations = [], []
    for story in stories:
        source = f"{story['id']}.txt"
        questions += [{"question": qa["q"], "answers": [qa["answer"]], "answerable": True, "source": source}
                      for qa in story["qa"]]
        questions += [{"question": item["q"], "answers": [], "answerable": False, "source": source}
                      for item in story["unanswerable"]]
        conversations += [{"turns": c["turns"], "answers": [c["answer"]], "source": source}
                          for c in story["conversations"]]
    write_set(folder, texts, questions, conversations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / "build" / "heldout"))
    parser.add_argument("--validation", default=str(REPO / "build" / "synthetic-val"),
                        help="where the synthetic-news validation set goes")
    args = parser.parse_args()
    out = Path(args.out)
    write_stories(out / "news", synthetic_stories("fit"))
    write_stories(Path(args.validation), synthetic_stories("validation"))
    articles = load_articles(held_out=True)
    write_set(out / "answerable", {file_name(a): a.document.text for a in articles},
              [case for a in articles for case in answer_cases(a)])
    rng = random.Random(SEED)
    cut = {file_name(a): cut_article(a, rng) for a in articles}
    write_set(out / "cut", {name: text for name, (text, _) in cut.items()},
              [case for _, cases in cut.values() for case in cases])
    for article in articles:
        name = file_name(article)
        text, cases = one_article_set(article, *cut[name], rng)
        write_set(out / "one" / Path(name).stem, {name: text}, cases)
    for folder in [out / "answerable", out / "cut", *sorted((out / "one").iterdir()), out / "news",
                   Path(args.validation)]:
        rows = (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        print(f"{folder}: {len(list((folder / 'corpus').glob('*.txt')))} articles, {len(rows)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())

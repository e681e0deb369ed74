"""The span reader: windows, span search, the shipped weights, and a tiny training run."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa import reader as reader_module
from qa.embedder import file_sha256
from qa.errors import ModelError
from qa.reader import Reader, Window, best_span, document_window, read_in_documents, window_around

from conftest import tool



@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30), st.data())
def test_window_is_consecutive_sentences_around_the_center_within_budget(lengths, data):
    spans, offset = [], 0
    for length in lengths:
        spans.append((offset, offset + length))
        offset += length + 1
    center = data.draw(st.integers(min_value=0, max_value=len(spans) - 1))
    first, last = window_around(spans, center, budget=600)
    assert first <= center <= last
    assert first == center == last or spans[last][1] - spans[first][0] <= 600
    if first > 0 and last + 1 < len(spans):  # it stopped because neither neighbour fits
        assert spans[last][1] - spans[first - 1][0] > 600
        assert spans[last + 1][1] - spans[first][0] > 600


def test_document_window_offsets_point_back_into_the_document():
    text = "One two. Three four five. Six."
    spans = [(0, 8), (9, 25), (26, 30)]
    window, start = document_window(text, spans, 1, 2, title="T")
    assert window.prefix == "T\n"
    for a, b in window.spans:
        assert text[start + a : start + b] == window.text[a:b]
    assert window.text[window.spans[0][0] : window.spans[0][1]] == "Three four five."


@given(st.lists(st.text(alphabet="abc ", min_size=1, max_size=12).map(lambda t: t.strip() or "x"), min_size=2,
                max_size=12), st.data())
def test_cutting_a_sentence_keeps_the_others_offsets_exact(sentences, data):
    train_reader = tool("train_reader")
    text, spans, position = "", [], 0
    for sentence in sentences:
        spans.append((position, position + len(sentence)))
        text += sentence + " "
        position = len(text)
    cut = data.draw(st.integers(min_value=0, max_value=len(sentences) - 1))
    shorter, kept = train_reader.without_sentence(text, spans, cut)
    assert [shorter[s:e] for s, e in kept] == [sentence for k, sentence in enumerate(sentences) if k != cut]
    assert len(shorter) == len(text) - len(sentences[cut]) - 1


def test_an_answer_cut_window_lacks_the_answer_and_says_no_answer():
    from qa.records import Document

    train_reader = tool("train_reader")
    text = "The bridge opened in May. It cost £4.2m to build. The mayor cut the ribbon. Crowds came."
    spans = [(0, 25), (26, 49), (50, 75), (76, 88)]
    article = train_reader.Article(Document(id="b", text=text, title="Bridge", path="b"), spans, [], [])
    answer = (text.index("£4.2m"), text.index("£4.2m") + 5)
    example = train_reader._cut_answer_example(article, "What did the bridge cost?", answer, holding=1, center=2)
    assert example.answer is None and "£4.2m" not in example.text
    assert [example.text[s:e] for s, e in example.spans] == ["The bridge opened in May.", "The mayor cut the ribbon.",
                                                             "Crowds came."]
    said_again = Document(id="b", text=text + " It cost £4.2m.", title="Bridge", path="b")
    repeated = train_reader.Article(said_again, [*spans, (89, 104)], [], [])
    assert train_reader._cut_answer_example(repeated, "What did the bridge cost?", answer, holding=1, center=2) is None


def test_mined_windows_hold_their_label_and_off_topic_ones_come_from_another_article(monkeypatch, fake_embedder):
    import random

    from qa.chunker import chunk_document
    from qa.records import Document

    train_reader = tool("train_reader")
    monkeypatch.setattr("qa.embedder.MiniLMEmbedder", lambda: fake_embedder)
    monkeypatch.setattr(train_reader, "CUT_ANSWER_SHARE", 1.0)
    monkeypatch.setattr(train_reader, "OFF_TOPIC_SHARE", 1.0)
    stories = {"Bridge": ("The bridge opened in May. It cost £4.2m to build. The mayor cut the ribbon.",
                          "What did the bridge cost?", "£4.2m"),
               "Museum": ("The museum reopened on Friday. Its director is Omar Haddad. Crowds came back.",
                          "Who directs the museum?", "Omar Haddad")}
    articles = []
    for title, (text, question, said) in stories.items():
        document = Document(id=title, text=text, title=title, path=title)
        chunks = [c for c in chunk_document(document) if c.kind == "sentence"]
        begin = text.index(said)
        articles.append(train_reader.Article(document, [(c.start, c.end) for c in chunks], [c.context for c in chunks],
                                             [(question, (begin, begin + len(said)))]))
    examples = train_reader.mine(articles, random.Random(1))
    for _, question, said in stories.values():
        own = [e for e in examples if e.question == question]
        assert all(e.text[e.answer[0] : e.answer[1]] == said for e in own if e.answer is not None)
        assert any(e.answer is not None for e in own) and any(e.answer is None and said not in e.text for e in own)
    off_topic = [e for e in examples if (e.title == "Bridge") != ("bridge" in e.question)]
    assert len(off_topic) == 2 and all(e.answer is None and e.kind == "off_topic" for e in off_topic)
    assert all(e.answer is not None for e in examples if e.kind == "answer")
    assert all(e.answer is None for e in examples if e.kind in ("answer_cut", "unanswerable"))
    kinds = train_reader.window_kinds(examples)
    assert kinds["answer"] == 2 and kinds["off_topic"] == 2 and kinds["unanswerable"] == 0
    assert sum(kinds[kind] for kind in train_reader.KINDS) == len(examples) and "unrecorded" not in kinds
    assert kinds["holding_the_answer"] == sum(e.answer is not None for e in examples)


STORY = {"id": "syn-h1-007", "title": "Tollbridge sold", "date": "2020-01-02", "outlet": "Wire",
         "text": "Harbour Group sold the Tollbridge for £40m on Monday. The buyer, Keel Capital, plans new lanes.\n\n"
                 "Chief executive Ana Ruiz said the sale was fair.",
         "qa": [{"q": "Who bought the Tollbridge?", "answer": "Keel Capital",
                 "sentence": "The buyer, Keel Capital, plans new lanes."},
                {"q": "What did the sale raise?", "answer": "£40m",
                 "sentence": "Harbour Group sold the Tollbridge for £40m on Monday."}],
         "unanswerable": [{"q": "When will the new lanes open?", "why": "No date is given."}],
         "conversations": [{"turns": ["Who runs Harbour Group?", "What did she say?"], "answer": "the sale was fair",
                            "sentence": "Chief executive Ana Ruiz said the sale was fair."}]}


def test_synthetic_news_is_split_by_story_number_one_in_five_validates_and_one_in_five_fits():
    part = tool("train_reader").synthetic_part
    ids = [f"syn-h{style}-{number:03d}" for style in range(1, 13) for number in range(1, 26)]
    parts = [part(story) for story in ids]
    assert parts.count("validation") == parts.count("fit") == len(ids) // 5
    assert {part("syn-h3-010"), part("syn-h11-040"), part("syn-h2-011"), part("syn-h2-012")} == {"validation", "fit", "train"}
    assert part("syn-h3-010") == "validation" and part("syn-h2-011") == "fit" and part("syn-h2-012") == "train"


def test_synthetic_stories_load_with_their_answers_offsets_inside_a_sentence(tmp_path, monkeypatch):
    import json

    train_reader = tool("train_reader")
    other = {**STORY, "id": "syn-h1-005"}
    (tmp_path / "articles.jsonl").write_text(json.dumps(STORY) + "\n" + json.dumps(other) + "\n", encoding="utf-8")
    monkeypatch.setattr(train_reader, "SYNTHETIC", tmp_path / "articles.jsonl")
    monkeypatch.setattr(train_reader, "MORE_SYNTHETIC", tmp_path / "more.jsonl")
    (tmp_path / "more.jsonl").write_text(json.dumps({**STORY, "id": "syn-m1-005"}) + "\n", encoding="utf-8")
    added = {"q": "When did the lanes open?", "why": "Only the plan is given.", "near": "", "kind": "stage"}
    monkeypatch.setattr(train_reader, "MORE_LOOKALIKES", tmp_path / "lookalikes.jsonl")
    (tmp_path / "lookalikes.jsonl").write_text(
        json.dumps({"id": "syn-m1-005", "unanswerable": [added]}) + "\n"
        + json.dumps({"id": "syn-h1-005", "unanswerable": [added]}) + "\n", encoding="utf-8")
    assert [s["id"] for s in train_reader.synthetic_stories("validation")] == ["syn-h1-005"]
    assert train_reader.synthetic_stories("validation")[0]["unanswerable"] == STORY["unanswerable"]
    train = train_reader.synthetic_stories("train")
    assert [s["id"] for s in train] == [STORY["id"], "syn-m1-005"]
    assert [s["unanswerable"] for s in train] == [STORY["unanswerable"], STORY["unanswerable"] + [added]]
    assert train_reader.synthetic_stories("fit") == []
    article, _ = train_reader.load_synthetic("train")
    assert article.document.title == "Tollbridge sold"
    text = article.document.text
    answered = [(q, a) for q, a in article.questions if a is not None]
    assert [text[a[0] : a[1]] for _, a in answered] == ["Keel Capital", "£40m"]
    assert all(any(s <= a[0] and a[1] <= e for s, e in article.sentences) for _, a in answered)
    assert ("When will the new lanes open?", None) in article.questions


def test_the_news_stage_mixes_every_news_window_with_as_many_squad_windows(tmp_path, monkeypatch):
    from dataclasses import replace

    train_reader = tool("train_reader")
    Example = train_reader.Example
    news = [Example(f"news {k}?", "N", "text", ((0, 4),), None, "unanswerable") for k in range(5)]
    squad = [Example(f"squad {k}?", "S", "text", ((0, 4),), None, "hard_negative") for k in range(20)]
    monkeypatch.setattr(train_reader, "load_synthetic", lambda part: [])
    monkeypatch.setattr(train_reader, "mine", lambda articles, rng, corpus: [replace(e, corpus=corpus) for e in news])
    monkeypatch.setattr(train_reader, "squad_examples", lambda work, seed: squad)
    mixed = train_reader.news_examples(tmp_path / "news", tmp_path / "squad", seed=3)
    assert sorted(e.question for e in mixed if e.corpus == "synthetic-news") == sorted(e.question for e in news)
    replayed = [e for e in mixed if e.corpus == "squad"]
    assert len(replayed) == round(train_reader.SQUAD_REPLAY_SHARE * len(news)) and all(e.text == "text" for e in replayed)
    assert {e.question for e in replayed} <= {e.question for e in squad}
    assert train_reader.news_examples(tmp_path / "news", tmp_path / "squad", seed=4) == mixed  # read from the cache


def test_each_news_pass_starts_from_the_one_before_a_finished_one_is_skipped_and_squad_makes_one(tmp_path, monkeypatch):
    train_reader = tool("train_reader")
    calls = []
    monkeypatch.setattr(train_reader, "news_examples", lambda work, squad_work, seed: ["window"])
    monkeypatch.setattr(train_reader, "train", lambda examples, **options: calls.append(options))
    work, out, start = tmp_path / "work", tmp_path / "out", tmp_path / "squad"
    argv = ["train_reader.py", "--stage", "news", "--work", str(work), "--out", str(out), "--start", str(start)]
    monkeypatch.setattr(sys, "argv", argv)
    train_reader.main()
    first = train_reader.pass_reader(work, 1)
    assert train_reader.NEWS_PASSES == 2
    assert [(c["start"], c["out"], c["work"], c["seed"]) for c in calls] == [
        (start, first, work, 13), (first, out, work / "pass-2", 14)]
    calls.clear()
    first.mkdir(parents=True)
    (first / reader_module.MANIFEST_FILE).write_text("{}", encoding="utf-8")
    train_reader.main()
    assert [(c["start"], c["out"], c["seed"]) for c in calls] == [(first, out, 14)]
    calls.clear()
    monkeypatch.setattr(train_reader, "squad_examples", lambda work, seed: ["window"])
    monkeypatch.setattr(sys, "argv", ["train_reader.py", "--stage", "squad", "--work", str(work), "--out", str(out)])
    train_reader.main()
    assert [(c["start"], c["out"], c["work"], c["seed"]) for c in calls] == [(None, out, work, 13)]  # one pass


def test_the_learning_curve_lists_each_pass_s_snapshots_after_the_passes_before(tmp_path):
    card = tool("reader_card")
    start, work = tmp_path / "reader-squad", tmp_path / "news"
    for folder in ("snapshot-1038", "snapshot-260", "pass-2/snapshot-519", "pass-2/snapshot-1038"):
        (work / folder).mkdir(parents=True)
    (work / "pass-1-reader").mkdir()
    (work / "pass-1-reader" / reader_module.MANIFEST_FILE).write_text(json.dumps({"questions": 18018}), encoding="utf-8")
    assert card.curve_readers(start, work) == [
        ("reader-squad", 0, start),
        ("snapshot-260", 0, work / "snapshot-260"),
        ("snapshot-1038", 0, work / "snapshot-1038"),
        ("pass 2: snapshot-519", 18018, work / "pass-2" / "snapshot-519"),
        ("pass 2: snapshot-1038", 18018, work / "pass-2" / "snapshot-1038"),
    ]


def test_the_model_card_counts_windows_by_kind_when_the_manifest_does():
    window_counts = tool("reader_card")._window_counts
    kinds = {"answer": 5, "hard_negative": 5, "answer_cut": 4, "unanswerable": 2, "off_topic": 1, "holding_the_answer": 6}
    assert window_counts({"window_kinds": kinds}) == [
        "  Windows by kind: 5 answer, 5 hard negative, 4 answer cut, 2 unanswerable, 1 off topic; 6 hold the answer."]
    assert window_counts({"windows": 17}) == []


@given(st.lists(st.floats(min_value=-5, max_value=5), min_size=2, max_size=40), st.data())
def test_best_span_is_the_brute_force_best(values, data):
    starts = np.array(values, dtype=np.float32)
    ends = np.array(data.draw(st.lists(st.floats(min_value=-5, max_value=5), min_size=len(values),
                                       max_size=len(values))), dtype=np.float32)
    first = data.draw(st.integers(min_value=0, max_value=len(values) - 1))
    last = data.draw(st.integers(min_value=first + 1, max_value=len(values)))
    value, i, j = best_span(starts, ends, first, last)
    brute = max(starts[a] + ends[b] for a in range(first, last) for b in range(a, min(last, a + reader_module.MAX_ANSWER_TOKENS)))
    assert value == pytest.approx(float(brute))
    assert first <= i <= j < last and j - i < reader_module.MAX_ANSWER_TOKENS


class RecordingReader:
    def __init__(self) -> None:
        self.windows: list[Window] = []

    def read(self, question, windows):
        self.windows.extend(windows)
        return [[reader_module.Reading(score=float(k), span=(0, 1), no_answer=0.0, answerable=float(number))
                 for k in range(len(w.spans))] for number, w in enumerate(windows)]


def test_sentences_already_read_with_context_are_not_read_again():
    text = " ".join(f"Sentence number {k}." for k in range(40))
    spans, offset = [], 0
    for k in range(40):
        length = len(f"Sentence number {k}.")
        spans.append((offset, offset + length))
        offset += length + 1
    reader = RecordingReader()
    found = read_in_documents(reader, "q", [("d", 10), ("d", 11), ("d", 30)], {"d": spans}, {"d": (text, "")})
    assert len(reader.windows) == 2  # sentence 11 sits inside sentence 10's window
    assert {("d", 10), ("d", 11), ("d", 30)} <= set(found)
    for (doc, number), reading in found.items():
        start, end = reading.span
        assert spans[0][0] <= start < end <= spans[-1][1]
    assert found[("d", 10)].answerable == 0.0 and found[("d", 30)].answerable == 1.0  # each its own window's


@pytest.mark.slow
def test_shipped_reader_loads_offline_and_ranks_a_made_up_pair():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    reader = reader_module.load_reader()
    scores = reader.scores("Who won the sailing race on Sunday?",
                           ["The weather in the harbour was calm all weekend.",
                            "Maria Lund won the sailing race on Sunday, ahead of two rivals."])
    assert scores[1] > scores[0]
    readings = reader.read("What did the bridge cost?",
                           [Window(text="The bridge opened on Monday. It cost £4.2m to build.",
                                   spans=((0, 28), (29, 52)), title="New bridge")])[0]
    assert readings[1].score > readings[0].score
    start, end = readings[1].span
    assert "4.2m" in "The bridge opened on Monday. It cost £4.2m to build."[start:end]


@pytest.mark.slow
def test_the_answerability_output_tells_a_window_that_answers_from_one_that_does_not():
    reader = reader_module.load_reader()
    window = Window(text="The bridge opened on Monday. It cost £4.2m to build.", spans=((0, 28), (29, 52)),
                    title="New bridge")
    answered = reader.read("What did the bridge cost?", [window])[0]
    unanswered = reader.read("Who designed the bridge?", [window])[0]
    assert answered[0].answerable == answered[1].answerable > 0 > unanswered[0].answerable


@pytest.mark.slow
def test_a_changed_weights_file_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(reader_module.MODEL_DIR, folder)
    weights = folder / reader_module.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        Reader(folder).warm_up()


@pytest.mark.slow
def test_a_missing_weights_file_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelError, match="train-reader"):
        Reader(tmp_path).warm_up()


@pytest.mark.slow
def test_two_training_steps_on_tiny_data_write_a_loadable_reader(tmp_path, capsys):
    train_reader = tool("train_reader")
    text = "The bridge opened on Monday. It cost £4.2m to build."
    spans = ((0, 28), (29, 52))
    examples = [
        train_reader.Example("What did the bridge cost?", "Bridge", text, spans, (37, 42)),
        train_reader.Example("When did the bridge open?", "Bridge", text, spans, (21, 27)),
        train_reader.Example("Who is the mayor?", "Bridge", text, spans, None),
        train_reader.Example("How long is it?", "Bridge", text, spans, None),
    ]
    facts = train_reader.train(examples, out=tmp_path / "out", work=tmp_path / "work", batch_size=2, save_every=1)
    assert facts["steps"] == 2 and np.isfinite(facts["final_loss_last_50"])
    assert facts["bf16_kernels"] in ("amx", "avx512_bf16", "none", "unknown") and facts["torch"]
    assert facts["window_kinds"] == {"answer": 0, "hard_negative": 0, "answer_cut": 0, "unanswerable": 0, "off_topic": 0,
                                     "unrecorded": 4, "holding_the_answer": 2}
    assert (tmp_path / "work" / "state.pt").is_file()
    trained = Reader(tmp_path / "out")
    assert trained.fingerprint == facts["sha256"]
    assert len(trained.scores("What did the bridge cost?", [text])) == 1
    capsys.readouterr()
    assert train_reader.train(examples, out=tmp_path / "out", work=tmp_path / "work", batch_size=2) == trained.manifest()
    assert "already trained to the end" in capsys.readouterr().out
    assert trained.manifest()["final_loss_last_50"] == facts["final_loss_last_50"]  # the finished run's facts kept
    (tmp_path / "out" / reader_module.MANIFEST_FILE).unlink()
    train_reader.train(examples, out=tmp_path / "out", work=tmp_path / "work", batch_size=2)
    assert "resuming at step 2" in capsys.readouterr().out
    repeated = train_reader.train(examples, out=tmp_path / "again", work=tmp_path / "work-again", batch_size=2)
    assert repeated["sha256"] == facts["sha256"]  # same seed, same data: the same weights, bit for bit
    followed = train_reader.train(examples, out=tmp_path / "next", work=tmp_path / "work-next", batch_size=2,
                                  start=tmp_path / "out", lr=3e-5)
    assert followed["started_from"].endswith(f"(sha256 {facts['sha256']})")
    assert followed["sha256"] != facts["sha256"] and Reader(tmp_path / "next").fingerprint == followed["sha256"]


def test_the_manifest_names_the_bf16_kernels_that_decide_the_weights_last_bits():
    bf16_kernels = tool("train_reader").bf16_kernels
    amx = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\n"
    assert bf16_kernels(amx, None) == "amx"
    assert bf16_kernels(amx, "AVX512_CORE_AMX") == "amx"
    assert bf16_kernels(amx, "AVX512_CORE_BF16") == "avx512_bf16"
    assert bf16_kernels("flags\t\t: fpu sse avx512f avx512_bf16\n", None) == "avx512_bf16"
    assert bf16_kernels("flags\t\t: fpu sse avx2\n", None) == "none"
    assert bf16_kernels("", None) == "none"


@pytest.mark.slow
def test_training_labels_point_at_the_answer_tokens():
    train_reader = tool("train_reader")
    _, tokenizer = reader_module.base_model()
    text = "The bridge opened on Monday. It cost £4.2m to build."
    examples = [train_reader.Example("What did it cost?", "Bridge", text, ((0, 28), (29, 52)), (37, 42)),
                train_reader.Example("Who is the mayor?", "Bridge", text, ((0, 28), (29, 52)), None)]
    batch = reader_module.encode(tokenizer, [e.question for e in examples], [e.window() for e in examples])
    starts, ends = train_reader.labels(batch, examples)
    answer = tokenizer.decode(batch["input_ids"][0][int(starts[0]) : int(ends[0]) + 1])
    assert answer.replace(" ", "") == "£4.2m"
    assert int(starts[1]) == int(ends[1]) == 0


@pytest.mark.slow
def test_answering_holds_the_reader_in_bf16_and_reads_as_the_float32_training_load_does():
    import torch

    manifest = json.loads((reader_module.MODEL_DIR / reader_module.MANIFEST_FILE).read_text())
    answering, _ = reader_module.answering_model(reader_module.MODEL_DIR, manifest)
    training, tokenizer = reader_module.load_model(reader_module.MODEL_DIR, manifest)
    assert {p.dtype for n, p in answering.named_parameters() if "LayerNorm" not in n and "word_embeddings" not in n} \
        == {torch.bfloat16}
    text = "The bridge opened on Monday. It cost £4.2m to build."
    batch = reader_module.encode(tokenizer, ["What did the bridge cost?"] * 2,
                                 [Window(text=text, spans=((0, 28), (29, 52)), title="Bridge"),
                                  Window(text=text[29:], spans=((0, 23),))])
    inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(answering(*inputs).float(), training(*inputs).float())


@pytest.mark.slow
def test_weights_of_another_shape_are_refused_by_name(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "models"
    shutil.copytree(reader_module.MODEL_DIR, folder)
    weights = folder / reader_module.WEIGHTS_FILE
    stored = load_file(str(weights))
    stored.pop("head.bias")
    save_file(stored, str(weights))
    manifest = folder / reader_module.MANIFEST_FILE
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "sha256": file_sha256(weights)}))
    with pytest.raises(ModelError, match="does not fit the reader.*head.bias"):
        Reader(folder).warm_up()


def test_the_added_look_alikes_lean_on_a_sentence_of_their_own_training_story_and_repeat_none_of_its_questions():
    train_reader = tool("train_reader")
    rows = train_reader._jsonl(train_reader.MORE_LOOKALIKES)
    own = {story["id"]: story for story in train_reader._jsonl(train_reader.SYNTHETIC)}
    own.update((story["id"], story) for story in train_reader._jsonl(train_reader.MORE_SYNTHETIC))
    training = {story["id"] for story in train_reader.synthetic_stories("train")}
    assert len({row["id"] for row in rows}) == len(rows) > 400
    for row in rows:
        story = own[row["id"]]
        assert row["id"] in training, row["id"]
        asked = {q["q"].casefold() for q in story["qa"] + story["unanswerable"]}
        assert len(row["unanswerable"]) == 4, row["id"]
        for question in row["unanswerable"]:
            assert question["q"].endswith("?") and question["q"].casefold() not in asked, question
            assert question["near"] in story["text"], question
            assert question["kind"] in {"scope", "role", "stage", "confusable", "unstated"} and question["why"], question

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunker import attribution, chunk_document, person_name
from qa.loader import load_corpus
from qa.records import Document

from conftest import BUNDLED, NEWS


def doc(text: str, title: str = "T") -> Document:
    return Document(id="d.txt", text=text, title=title, path="d.txt")


def sentences(document: Document):
    return [c for c in chunk_document(document) if c.kind == "sentence"]


def test_every_chunk_of_the_bundled_article_round_trips():
    for document in load_corpus(BUNDLED).documents.values():
        chunks = chunk_document(document)
        assert chunks
        for chunk in chunks:
            assert document.text[chunk.start:chunk.end] == chunk.text


def test_sentences_are_in_order_and_do_not_overlap():
    found = sentences(doc(NEWS))
    assert [s.first_sentence for s in found] == list(range(len(found)))
    for before, after in zip(found, found[1:]):
        assert before.end <= after.start


def test_abbreviations_do_not_split_sentences():
    found = sentences(doc("Mr. Smith met Dr. Jones in Washington. They talked."))
    assert [s.text for s in found] == ["Mr. Smith met Dr. Jones in Washington.", "They talked."]


def test_multi_sentence_quotation_is_split_but_grouped_with_its_speaker():
    text = ('“We are delighted. This is a big day for the town. The work starts now,” '
            'the chief executive, Anna Berg, said.')
    found = sentences(doc(text))
    assert len(found) == 3
    assert {(s.group_first, s.group_last) for s in found} == {(0, 2)}
    assert all(s.speaker == "the chief executive, Anna Berg" for s in found)
    assert found[1].context.startswith("the chief executive, Anna Berg")


def test_attribution_forms():
    assert attribution('"It works," said the minister, Tom Reed.') == "the minister, Tom Reed"
    assert attribution("“It works,” Acme's chief Tom Reed said.") == "Acme's chief Tom Reed"
    assert attribution('Tom Reed said: "It works."') == "Tom Reed"
    assert attribution("The sky is blue.") is None
    assert attribution('Party secretary Matt Reed said it was "a fine gift".') == "Party secretary Matt Reed"
    assert attribution("Shadow health secretary Jo Lee said that, if elected, she would act.") == \
        "Shadow health secretary Jo Lee"
    assert attribution('Ms Lee asked: "Would it not be ironic?"') == "Ms Lee"
    assert attribution("Opponents said the money was wasted.") is None
    assert attribution("But party leader Jo Lee said it would pass.") == "party leader Jo Lee"
    assert attribution('And Tom Reed, the mayor, said: "We are ready."') == "Tom Reed, the mayor"
    assert attribution("In 2004 the council said no.") is None
    assert attribution("Sales rose sharply in March according to figures from the ONS.") is None
    assert attribution("It is not clear what Acme said.") is None


def test_an_opening_quotation_mark_before_a_space_stays_where_it_is():
    text = 'The mayor spoke to reporters. " We are proud of it. It is new," said Jane Porter.'
    found = sentences(doc(text))
    assert found[0].text == "The mayor spoke to reporters."
    assert found[1].speaker == "Jane Porter"


def test_a_closing_quotation_mark_stays_with_the_sentence_it_closes():
    text = ('Jo Lee said: "A cure is ten years away. "It is close. Help is needed now." '
            'On Monday, she flew home.')
    found = sentences(doc(text))
    assert [s.text for s in found][-2:] == ['Help is needed now."', "On Monday, she flew home."]
    assert {s.speaker for s in found[:-1]} == {"Jo Lee"}


def test_leading_pronoun_is_searched_with_the_last_named_speaker():
    found = sentences(doc(NEWS))
    added = next(s for s in found if s.text.startswith("She added"))
    assert "Jane Porter" in added.context
    assert added.text == "She added that the old ferry would keep running until spring."


def test_person_name_drops_the_role():
    assert person_name("Acme's chief executive John Smith") == "John Smith"
    assert person_name("the mayor, Jane Porter") == "Jane Porter"
    assert person_name("Ms Hewitt") == "Hewitt"
    assert person_name("Jane Porter") == "Jane Porter"


def test_leading_it_borrows_the_names_of_the_previous_sentence():
    found = sentences(doc("The Westshire Council approved the budget for Eastmouth. It includes a new library."))
    assert found[1].context == "Westshire Council, Eastmouth: It includes a new library."


def test_passages_cover_consecutive_sentences():
    chunks = chunk_document(doc(NEWS))
    found = [c for c in chunks if c.kind == "sentence"]
    passages = [c for c in chunks if c.kind == "passage"]
    assert passages and all(p.last_sentence - p.first_sentence <= 2 for p in passages)
    for passage in passages:
        assert passage.start == found[passage.first_sentence].start
        assert passage.end == found[passage.last_sentence].end


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_chunks_round_trip_and_cover_all_words_on_arbitrary_text(text: str):
    document = doc(text)
    found = sentences(document)
    for chunk in chunk_document(document):
        assert document.text[chunk.start:chunk.end] == chunk.text
    covered = "".join(s.text for s in found)
    assert "".join(text.split()) == "".join(covered.split())


def test_unattributed_quotation_inherits_the_previous_speaker_in_its_paragraph():
    found = sentences(doc(NEWS))
    proud = next(s for s in found if "proud" in s.text)
    assert proud.speaker == "the mayor, Jane Porter"
    assert "Jane Porter" in proud.context

"""qa: answer questions about a folder of documents by quoting the sentences that answer them.

    from qa import QA, Turn, answer
    bot = QA.from_directory("corpus")
    reply = bot.answer("Who opened the bridge?")
    reply.quotes[0].text   # exact words from bot.documents[reply.quotes[0].source].text
    bot.answer("When did it open?", history=[Turn.of("Who opened the bridge?", reply)])
"""

from qa import _offline  # noqa: F401  (must run before any model library is imported)
from qa.engine import QA, answer
from qa.errors import CorpusError, IndexStoreError, ModelError, QAError, QuestionError
from qa.records import Answer, Document, Quote, Turn

__all__ = [
    "QA", "Answer", "Quote", "Document", "Turn", "answer",
    "QAError", "QuestionError", "CorpusError", "ModelError", "IndexStoreError",
]

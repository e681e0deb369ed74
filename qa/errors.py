"""The package's own exceptions.

Everything the engine raises on purpose derives from `QAError`, so a caller (the CLI, the chat)
can turn it into one plain message. Programming errors are left as ordinary exceptions.
"""


class QAError(Exception):
    """Base class: the message is meant to be shown to a person as it is."""


class QuestionError(QAError):
    """The question cannot be answered as given (empty, nothing but punctuation, ...)."""


class CorpusError(QAError):
    """The corpus folder is missing, empty, or holds a file that cannot be read."""


class UnreadableFile(CorpusError):
    """One PDF, DOCX or HTML file yields no text (encrypted, damaged, not of its format, nothing
    but images or boilerplate). The message is the reason only: the loader names the file, skips
    it and goes on with the others."""


class MissingPackage(UnreadableFile):
    """The library that reads a file's format, or a package it needs, is not installed or fails to
    import. The message names the format and the package to install; the loader skips the file
    like any other it cannot read."""


class ModelError(QAError):
    """The embedding model is missing or its weights are not the expected ones."""


class IndexStoreError(QAError):
    """A saved index cannot be written or read (read-only cache, corrupt files, ...)."""


class UploadError(QAError):
    """A document uploaded through the chat is refused (its type, size or text, no login), or
    the server's upload folder cannot be used. Nothing of the file is left in the corpus."""

"""One exception family for everything a user can get wrong or the environment can break.

Each subclass also inherits the builtin that matches its cause, so callers that already catch
``FileNotFoundError`` or ``ValueError`` keep working. Messages say what was expected, what was
found, and what to do next.
"""


class PosebatchError(Exception):
    """Base of every error posebatch raises on purpose."""


class ConfigError(PosebatchError, ValueError):
    """An option, job spec or manifest entry is invalid."""


class InputShapeError(PosebatchError, ValueError):
    """An array handed to a public function has the wrong shape, dtype or layout."""


class ModelNotFoundError(PosebatchError, LookupError):
    """The named model is not in the manifest nor added locally."""


class ModelNotCachedError(PosebatchError, FileNotFoundError):
    """The model is known but its graph file is not in the cache yet."""


class FetchError(PosebatchError, OSError):
    """Downloading a model or the demo video failed."""


class IntegrityError(PosebatchError, ValueError):
    """A file's sha256 differs from the recorded one: truncated, altered or the wrong file."""


class GraphError(PosebatchError, ValueError):
    """A file is not a frozen graph with the tensors the model entry names."""


class ImageReadError(PosebatchError, OSError):
    """An image file could not be read or decoded."""


class VideoError(PosebatchError, OSError):
    """A video could not be opened or decoded."""


class SchemaError(PosebatchError, TypeError):
    """A table posebatch is about to write does not fit its declared schema (a bug in
    posebatch: the message names the table and the columns)."""

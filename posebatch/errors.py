"""One exception family for everything a user can get wrong or the environment can break.

Each subclass also inherits the builtin that matches its cause, so callers that already catch
``FileNotFoundError`` or ``ValueError`` keep working. Messages say what was expected, what was
found, and what to do next. ``exit_code`` is the command line's exit status for each: 2 a usage
or configuration error (the default), 1 an input that failed, 3 interrupted or resumable
(rerun the same command).
"""


class PosebatchError(Exception):
    """Base of every error posebatch raises on purpose."""

    exit_code = 2


class ResumableError(PosebatchError, RuntimeError):
    """The job stopped for a cause outside it (a full disk, a dead worker); its finished
    chunks are kept and a rerun of the same command resumes. The CLI exits with code 3."""

    exit_code = 3


class ConfigError(PosebatchError, ValueError):
    """An option, job spec or manifest entry is invalid."""


class InputShapeError(PosebatchError, ValueError):
    """An array handed to a public function has the wrong shape, dtype or layout."""


class ModelNotFoundError(PosebatchError, LookupError):
    """The named model is not in the manifest nor added locally."""


class ModelNotCachedError(PosebatchError, FileNotFoundError):
    """The model is known but its graph file is not in the cache yet."""


class FetchError(PosebatchError, OSError):
    """Downloading a model or the demo video failed (try again: exit code 3)."""

    exit_code = 3


class IntegrityError(PosebatchError, ValueError):
    """A file's sha256 differs from the recorded one: truncated, altered or the wrong file."""


class GraphError(PosebatchError, ValueError):
    """A file is not a frozen graph with the tensors the model entry names."""


class ImageReadError(PosebatchError, OSError):
    """An image file could not be read or decoded."""

    exit_code = 1


class VideoError(PosebatchError, OSError):
    """A video could not be opened or decoded."""

    exit_code = 1


class SchemaError(PosebatchError, TypeError):
    """A table posebatch is about to write does not fit its declared schema (a bug in
    posebatch: the message names the table and the columns)."""


class RuntimeUnavailableError(PosebatchError, RuntimeError):
    """The runtime asked for (OpenVINO) is not installed or does not run on this CPU."""


class ClusterError(PosebatchError, RuntimeError):
    """The Ray cluster lost the nodes the job's actors need and has no room for new ones.
    The job's finished chunks are kept: a rerun resumes. The CLI exits with code 3."""

    exit_code = 3

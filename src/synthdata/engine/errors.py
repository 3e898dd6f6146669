"""Every error the engine raises, in one place.

`InputError` is the user's fault (bad file, bad option): front ends turn it into
one clear line and exit code 2 (CLI) or a 4xx problem document (service).
"""


class SynthDataError(Exception):
    """Base class of every error raised on purpose by synthdata."""


class InputError(SynthDataError):
    """The input table or an option is unusable; the message says why, in one line."""


class ModelFormatError(SynthDataError):
    """A saved model file is not a synthdata model, or is of an unsupported version."""


class MissingDependencyError(SynthDataError):
    """An optional extra (e.g. `[sdv]`) is needed for this feature but not installed."""


class NotFittedError(SynthDataError):
    """`sample` or `save` was called on a synthesizer that has not been fitted."""

"""The base class of faceleak's expected errors.

An expected error is a problem with the user's input, data, weights or machine (a missing file, a
checksum mismatch, a bad param, no face found, an absent GPU). Its message is one line that names the
problem and the fix; stage scripts print it without a traceback and exit with status 1
(:func:`faceleak.stage.start`). Anything else is a bug and keeps its traceback.
"""


class FaceleakError(Exception):
    """An expected problem, explained in one line that names the fix."""


class MissingInputError(FaceleakError, FileNotFoundError):
    """A file a step needs does not exist (usually: an earlier stage has not run)."""

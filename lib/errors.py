"""The one exception type for problems the user can fix (data, files, configuration).

Scripts print such a problem as a plain message and exit with code 2: no traceback for
data problems. Anything else is a bug in the bundle and keeps its traceback.
"""


class UserFacingError(ValueError):
    """A problem with the input or the configuration, with a message that says what to do."""

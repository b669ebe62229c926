"""The errors smearscan reports to a user: each message is one line naming the file or value."""


class SmearscanError(Exception):
    """Base of the errors the CLI prints as ``smearscan: <message>`` without a traceback."""

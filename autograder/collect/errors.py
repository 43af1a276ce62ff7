"""The one error collect raises: the source, the roster or the course cannot be used as they are."""


class CollectError(ValueError):
    """The submissions cannot be collected as they are; nothing was copied."""

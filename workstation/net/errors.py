"""The two ways a delivery or a query can fail, told apart because they are handled apart.

A :class:`TransientError` (destination down, timeout, overloaded, credentials refused)
leaves the item queued and retried with backoff; a :class:`RejectedError` means the
receiver looked at this item and refused it, so sending the same bytes again is
pointless until someone acts. Messages are written for users and carry no patient data.
"""

from __future__ import annotations


class NetworkError(Exception):
    """A remote system could not be used; the message says why."""


class TransientError(NetworkError):
    """Worth retrying later: the receiver could not take the item now."""


class RejectedError(NetworkError):
    """The receiver refused this item; retrying the same bytes will not help."""

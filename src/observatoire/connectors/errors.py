"""What can go wrong while collecting, each with a French message for people.

Three kinds, handled differently by :mod:`observatoire.connectors.collect`:

- :class:`NetworkUnavailable`: the API cannot be reached at all (no network, DNS failure,
  connection refused, time-outs after every retry). The connector stops at once; when every
  connector stops this way, nothing is written and the command exits with its own status.
- :class:`SourceError` (:class:`HttpFailure`, :class:`MalformedResponse`): one query failed
  (HTTP error after retries, an HTML error page instead of JSON, a field that changed name).
  The value concerned is missing and the file says why; the other territories and the other
  sources go on.
- :class:`NoData`: the source answered correctly but has no value for this territory (empty
  results, statistical secrecy, a commune or EPCI absent from the data's geography, merged or
  created since). Not a failure: the indicator stays « à renseigner » with the reason.
"""

from __future__ import annotations


class CollectionError(Exception):
    """Base class: ``message`` is a French sentence naming what failed."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NetworkUnavailable(CollectionError):
    """The API's host cannot be reached (offline, DNS, refused, time-out)."""


class SourceError(CollectionError):
    """A query failed in a way that concerns this query only."""


class HttpFailure(SourceError):
    """An HTTP error status, after the retries for 429 and 5xx."""

    def __init__(self, message: str, status: int):
        self.status = status
        super().__init__(message)


class MalformedResponse(SourceError):
    """A response that is not what the API documents (HTML page, changed field, bad JSON)."""


class NoData(CollectionError):
    """A correct answer without any value for the territory.

    ``out_of_scope``: the territory is outside the indicator's field (a commune without any
    recorded major risk for the DICRIM indicator), not short of data.
    """

    def __init__(self, message: str, out_of_scope: bool = False):
        self.out_of_scope = out_of_scope
        super().__init__(message)

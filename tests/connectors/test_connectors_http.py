"""The polite client: User-Agent, time-outs, retries on 429 and 5xx, cache, token bucket, errors."""

import dataclasses
import socket

import pytest
import pytest_socket
import requests
from pyrate_limiter import AbstractClock

from observatoire.connectors import georisques, http
from observatoire.connectors.errors import HttpFailure, MalformedResponse, NetworkUnavailable

from support import TODAY, Factory, fixture_text

URL = f"{georisques.BASE}/gaspar/catnat"
PARAMS = {"code_insee": "30276", "page": 1, "page_size": 100}


def serve(server, **kw):
    server.georisques("gaspar/catnat", "30276", **({"fixture": "catnat-30276.json"} | kw))


def test_the_network_is_blocked_in_these_tests():
    with pytest.raises(pytest_socket.SocketConnectBlockedError), pytest.warns(UserWarning, match="192.0.2.1"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("192.0.2.1", 443))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("georisques.gouv.fr", 443)


def test_requests_name_the_project_and_carry_time_outs(server, factory):
    serve(server)
    fetched = factory(georisques.API).get_json(URL, PARAMS)
    call = server.mock.calls[0]
    assert call.request.headers["User-Agent"].startswith("observatoire/")
    assert "Observatoire de la résilience" in call.request.headers["User-Agent"]
    assert call.request.req_kwargs["timeout"] == (http.CONNECT_TIMEOUT, http.READ_TIMEOUT)
    assert fetched.url == f"{URL}?code_insee=30276&page=1&page_size=100" and fetched.retrieved == TODAY


def test_429_is_retried_after_the_delay_the_server_asks(server, factory):
    serve(server, fixture=None, status=429, headers={"Retry-After": "7"}, body='{"message": "too many"}')
    serve(server)
    fetched = factory(georisques.API).get_json(URL, PARAMS)
    assert fetched.payload["results"] == 0
    assert factory.sleeps == [7.0] and len(server.mock.calls) == 2


def test_500_is_retried_with_growing_back_off_then_reported(server, factory):
    for _ in range(http.ATTEMPTS):
        serve(server, fixture=None, status=500, body='{"message": "erreur"}')
    with pytest.raises(HttpFailure) as caught:
        factory(georisques.API).get_json(URL, PARAMS)
    assert caught.value.status == 500 and len(server.mock.calls) == http.ATTEMPTS
    assert "Géorisques : erreur du serveur (HTTP 500) après 4 essais" in caught.value.message
    assert len(factory.sleeps) == http.ATTEMPTS - 1
    assert factory.sleeps[-1] > factory.sleeps[0] >= 1


def test_404_is_not_retried(server, factory):
    serve(server, fixture=None, status=404, body='{"message": "Aucun résultat"}')
    with pytest.raises(HttpFailure, match=r"introuvable \(HTTP 404\)"):
        factory(georisques.API).get_json(URL, PARAMS)
    assert len(server.mock.calls) == 1 and factory.sleeps == []


def test_an_html_page_instead_of_json_is_named_and_never_cached(server, tmp_path):
    for _ in range(2):
        serve(server, fixture="../erreurs/page-erreur.html", content_type="text/html")
    client = Factory(cache=tmp_path)(georisques.API)
    for _ in range(2):
        with pytest.raises(MalformedResponse, match="page HTML au lieu de données JSON"):
            client.get_json(URL, PARAMS)
    assert len(server.mock.calls) == 2  # the second call was not answered by the cache


def test_truncated_json_is_named(server, factory):
    serve(server, fixture="../erreurs/json-tronque.json")
    with pytest.raises(MalformedResponse, match="JSON illisible"):
        factory(georisques.API).get_json(URL, PARAMS)


def test_dns_failure_is_network_unavailable_after_the_retries(server, factory):
    for _ in range(http.ATTEMPTS):
        serve(server, fixture=None, exception=requests.ConnectionError(
            "HTTPSConnectionPool: Failed to resolve 'georisques.gouv.fr' ([Errno -2] Name or service not known)"))
    with pytest.raises(NetworkUnavailable) as caught:
        factory(georisques.API).get_json(URL, PARAMS)
    assert "Géorisques (georisques.gouv.fr) injoignable" in caught.value.message
    assert "ne se résout pas" in caught.value.message


def test_answers_are_cached_with_their_date_and_refresh_asks_again(server, tmp_path):
    serve(server)
    first = Factory(cache=tmp_path)
    assert first(georisques.API).get_json(URL, PARAMS).from_cache is False and first.sent == 1
    again = Factory(cache=tmp_path)
    client = again(georisques.API)
    assert client.is_cached(URL, PARAMS)
    cached = client.get_json(URL, PARAMS)
    assert cached.from_cache and again.sent == 0 and len(server.mock.calls) == 1
    refresh = Factory(cache=tmp_path, refresh=True)
    assert refresh(georisques.API).get_json(URL, PARAMS).from_cache is False
    assert refresh.sent == 1 and len(server.mock.calls) == 2


class FakeClock(AbstractClock):
    def __init__(self):
        self.ms = 1_000_000

    def now(self) -> int:
        return self.ms


def test_the_token_bucket_spaces_requests_at_the_published_rate(monkeypatch):
    clock = FakeClock()
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.ms += int(seconds * 1000)

    import pyrate_limiter.limiter

    monkeypatch.setattr(pyrate_limiter.limiter, "sleep", sleep)
    api = dataclasses.replace(georisques.API, limit=2, interval=1000)
    limiter = http.make_limiter(api, clock=clock)
    for _ in range(5):
        assert limiter.try_acquire(api.key)
    # Two per second, no burst: four waits of half a second (plus the limiter's small buffer).
    assert 2.0 <= sum(slept) <= 2.5 and len(slept) == 4


def test_the_adapter_takes_a_token_only_for_requests_really_sent(server, tmp_path, monkeypatch):
    serve(server)
    taken = []
    client = Factory(cache=tmp_path)(georisques.API)
    adapter = client.session.get_adapter("https://")
    monkeypatch.setattr(adapter.limiter, "try_acquire", lambda name, *a, **k: taken.append(name) or True)
    client.get_json(URL, PARAMS)
    client.get_json(URL, PARAMS)  # from the cache
    assert taken == ["georisques"]


def test_published_rate_limits():
    from observatoire.connectors import datagouv, hubeau, insee

    assert insee.API.seconds_per_request == 2.0  # 30 per minute
    assert georisques.API.seconds_per_request == 0.2  # 5 per second
    assert hubeau.API.rate_text() == "5 requêtes par seconde" and datagouv.API.limit == 5
    assert "30 requêtes par minute" == insee.API.rate_text()


def test_fixture_files_say_they_are_hand_written():
    from support import FIXTURES

    files = [p for p in FIXTURES.rglob("*") if p.is_file()]
    assert len(files) >= 30
    for path in files:
        assert "écrite à la main" in fixture_text(str(path.relative_to(FIXTURES))), path

"""core/net/http.py against a loopback server: clear messages, Retry-After, no credentials in messages."""
import email.utils
import time

import pytest

from labelmigration.core.net.http import HttpError, basic_auth, get_json, open_once, open_url, post_form
from labelmigration.core.net.retry import retry_delay
from labelmigration.tests.support.fault_server import Fault, fault_server
from labelmigration.tests.support.loopback import closed_port_url


@pytest.fixture
def server():
    with fault_server() as running:
        yield running


def test_get_json_decodes_the_answer(server):
    url = server.add_file("/api/search", b'{"features": [1, 2]}', content_type="application/json")
    assert get_json(url, params={"q": "tile 32TQM"}) == {"features": [1, 2]}
    assert server.log[0].path == "/api/search"


def test_html_page_instead_of_json_is_named(server):
    url = server.add_file("/api/search", b"<!DOCTYPE html><html><body>Log in</body></html>", content_type="text/html")
    with pytest.raises(HttpError) as caught:
        get_json(url + "?token=abc")
    message = str(caught.value)
    assert "an HTML page instead of JSON" in message
    assert f"{server.url}/api/search" in message and "token=abc" not in message


def test_maintenance_page_from_a_json_service_is_named(server):
    url = server.add_file("/api/search", b"{}", content_type="application/json")
    server.script("/api/search", Fault(html_error=True))
    with pytest.raises(HttpError, match="HTML page instead of JSON"):
        get_json(url, retries=0)


def test_unreachable_url_names_the_url():
    url = closed_port_url("/odata/v1/Products")
    with pytest.raises(HttpError) as caught:
        get_json(url, retries=0, timeout=2)
    assert url in str(caught.value) and "Cannot reach" in str(caught.value)
    assert caught.value.status is None and caught.value.retryable


def test_401_and_404_messages(server):
    protected = server.add_file("/odata/v1/Products", b"{}", protected=True)
    with pytest.raises(HttpError) as caught:
        get_json(protected, retries=0)
    assert caught.value.status == 401
    assert "refused the credentials (HTTP 401" in str(caught.value) and "user name and password" in str(caught.value)
    with pytest.raises(HttpError) as caught:
        get_json(f"{server.url}/no/such/path", retries=0)
    assert caught.value.status == 404 and f"{server.url}/no/such/path was not found (HTTP 404)" in str(caught.value)
    assert not caught.value.retryable


def test_429_with_retry_after_seconds_is_waited_for(server):
    url = server.add_file("/api/search", b'{"ok": true}', content_type="application/json")
    server.script("/api/search", Fault(status=429, retry_after="1"))
    started = time.monotonic()
    assert get_json(url, backoff=0.01) == {"ok": True}
    assert time.monotonic() - started >= 0.95  # the 1 s from Retry-After, not the 0.01 s backoff
    assert [r.status for r in server.log] == [429, 200]


def test_503_without_retry_after_uses_the_backoff(server):
    url = server.add_file("/api/search", b"[]", content_type="application/json")
    server.script("/api/search", Fault(status=503), Fault(status=503))
    started = time.monotonic()
    assert get_json(url, backoff=0.01) == []
    assert time.monotonic() - started < 0.9
    assert [r.status for r in server.log] == [503, 503, 200]


def test_429_that_never_ends_is_a_clear_error(server):
    url = server.add_file("/api/search", b"[]")
    server.script("/api/search", *[Fault(status=429, retry_after="0")] * 3)
    with pytest.raises(HttpError, match="too many requests"):
        get_json(url, retries=2, backoff=0.01)


def test_retry_after_as_seconds_and_as_http_date():
    assert retry_delay(1, "7") == 7
    assert retry_delay(1, "0") == 0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_delay(1, later) <= 30
    earlier = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_delay(1, earlier) == 0
    assert retry_delay(3, None, base=0.5) == 2.0  # exponential backoff without Retry-After
    assert retry_delay(1, "100000") == 120  # capped


def test_open_once_keeps_retry_after_for_its_caller(server):
    server.add_file("/file", b"x")
    server.script("/file", Fault(status=503, retry_after="1"))
    with pytest.raises(HttpError) as caught:
        open_once(f"{server.url}/file")
    assert caught.value.status == 503 and caught.value.retry_after == "1" and caught.value.retryable
    with open_once(f"{server.url}/file") as response:  # no retries of its own: the fault was used once
        assert response.read() == b"x"


def test_open_url_errors_carry_retry_after(server):
    server.script("/file", Fault(status=429, retry_after="1"))
    with pytest.raises(HttpError) as caught:
        open_url(f"{server.url}/file", retries=0)
    assert caught.value.retry_after == "1"


def test_post_form_keeps_the_password_out_of_messages(server):
    token_url = f"{server.url}/token"
    answer = post_form(token_url, {"client_id": "cdse-public", "grant_type": "password",
                                   "username": "alice", "password": "secret"})
    assert answer["access_token"] and answer["expires_in"] == 600
    with pytest.raises(HttpError) as caught:
        post_form(token_url, {"client_id": "cdse-public", "grant_type": "password",
                              "username": "alice", "password": "hunter2-wrong"}, retries=0)
    assert caught.value.status == 401 and "hunter2-wrong" not in str(caught.value)


def test_use_proxy_sends_requests_through_the_proxy():
    """The fault server answers an absolute-URI request like a forward proxy would, so a file comes
    back from a host that does not exist only when the request went through the proxy."""
    from labelmigration.core.net.connections import current_proxy, use_proxy
    from labelmigration.core.net.http import HttpError, get_json
    from labelmigration.tests.support.fault_server import fault_server

    with fault_server() as server:
        server.add_file("/catalogue.json", b'{"ok": true}', content_type="application/json")
        with use_proxy(server.url):
            assert current_proxy() == server.url
            assert get_json("http://catalogue.invalid/catalogue.json", retries=0) == {"ok": True}
        assert current_proxy() is None
        assert server.log[-1].path == "/catalogue.json"
        with pytest.raises(HttpError, match="catalogue.invalid"):
            get_json("http://catalogue.invalid/catalogue.json", retries=0, timeout=5)


# -- credentials only where they belong (issue 13: downloadscenes sent them to any host a layer named) --
def test_credential_scope_by_host_port_and_domain():
    from labelmigration.core.net.credentials import CredentialScope

    scope = CredentialScope(["http://127.0.0.1:8000/token", "https://hub.example.org/dhus"],
                            ["dataspace.copernicus.eu"])
    assert scope.allows("http://127.0.0.1:8000/other/path?x=1")
    assert not scope.allows("http://127.0.0.1:8001/")  # another port is another server
    assert scope.allows("https://hub.example.org:443/odata")
    assert not scope.allows("http://hub.example.org/odata")  # never downgraded to plain http
    assert scope.allows("https://zipper.dataspace.copernicus.eu/odata/v1/Products(x)/$value")
    assert not scope.allows("http://download.dataspace.copernicus.eu/x")
    assert not scope.allows("https://dataspace.copernicus.eu.evil.example/x")
    assert not scope.allows("https://evil-dataspace.copernicus.eu.example/x")
    assert not CredentialScope([]).allows("http://127.0.0.1:8000/")


def test_scoped_credentials_go_to_their_host_only_and_warn_once(server):
    from labelmigration.core.net.credentials import CredentialScope, ScopedCredentials

    warnings = []
    with fault_server() as foreign:
        mine = server.add_file("/file.json", b"{}", content_type="application/json")
        other = foreign.add_file("/file.json", b"{}", content_type="application/json")
        credentials = ScopedCredentials(lambda: basic_auth(("alice", "secret")), CredentialScope([server.url]),
                                        warnings.append)
        for url in (mine, other, other):
            get_json(url, credentials=credentials, retries=0)
        assert [r.authorized for r in server.log] == [True]
        assert [r.authorized for r in foreign.log] == [False, False]
    host = other.split("/")[2]
    assert len(warnings) == 1 and f"{host} got no credentials" in warnings[0]
    assert server.url.split("/")[2] in warnings[0]  # where they do go


def test_redirect_to_a_foreign_host_carries_no_credentials(server):
    """urllib copies Authorization to the redirect's host; the scope decides again there."""
    from labelmigration.core.net.credentials import CredentialScope, ScopedCredentials

    with fault_server() as foreign:
        target = foreign.add_file("/stolen.json", b"{}", content_type="application/json")
        server.script("/start.json", Fault(redirect=target), Fault(redirect=target))
        credentials = ScopedCredentials(lambda: basic_auth(("alice", "secret")), CredentialScope([server.url]),
                                        lambda _text: None)
        assert get_json(server.url + "/start.json", credentials=credentials, retries=0) == {}
        # a plain header from a caller is not carried to another host either
        assert get_json(server.url + "/start.json", headers=basic_auth(("bob", "pw")), retries=0) == {}
        assert server.log[0].authorized and server.log[1].authorized
        assert [r.authorization for r in foreign.log] == [None, None]


def test_redirect_to_an_allowed_host_keeps_the_credentials(server):
    from labelmigration.core.net.credentials import CredentialScope, ScopedCredentials

    with fault_server() as zipper:
        target = zipper.add_file("/product.json", b"{}", content_type="application/json")
        server.script("/start.json", Fault(redirect=target))
        credentials = ScopedCredentials(lambda: {"Authorization": "Bearer t0ken"},
                                        CredentialScope([server.url, zipper.url]))
        assert get_json(server.url + "/start.json", credentials=credentials, retries=0) == {}
    assert [r.authorization for r in zipper.log] == ["Bearer t0ken"]

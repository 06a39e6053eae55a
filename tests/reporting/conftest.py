"""A real SMTP server for the campaign tests: aiosmtpd on a free local port, collecting what it receives."""

import shutil
import subprocess
from email import message_from_bytes, policy

import pytest

from tests.conftest import free_port


class Inbox:
    """aiosmtpd's handler: keeps every message accepted; refuses the addresses in `refuse`, and
    every recipient after `fail_after` accepted messages (a server that gives up half-way)."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()
        self.fail_after: int | None = None
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse or (self.fail_after is not None and len(self.messages) >= self.fail_after):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        return [message["To"] for message in self.messages]


@pytest.fixture
def smtp():
    """(inbox, port) of an SMTP server running for the test."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    # a login is offered without TLS: the tests check that one happens only when [outreach] names a user
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
                            authenticator=inbox.authenticate)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def tls_smtp(tmp_path, monkeypatch):
    """(inbox, port) of an SMTP server offering STARTTLS with a certificate for 127.0.0.1 that
    this test's client trusts (SSL_CERT_FILE): the real handshake, no verification switched off."""
    import ssl

    from aiosmtpd.controller import Controller

    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=inbox.authenticate)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()

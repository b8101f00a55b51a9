#!/usr/bin/env python3
"""An SMTP sink for Flagstone's mail tests (aiosmtpd); started by scripts/test-smtp.sh.

Listens on --host:--port without TLS, accepts every message and writes it, envelope and
raw data, as one JSON file per message into --dir:

    {"mail_from": "...", "rcpt_tos": ["..."], "auth_login": "flagstone" | null,
     "peer": "127.0.0.1:54321", "received_at": "2025-01-01T12:00:00.123456+00:00",
     "data": "<the message as received, CRLF line ends>"}

Files are named <sequence>-<unix nanoseconds>.json and appear complete (written under a
temporary name, then renamed) before the server answers 250 to the DATA command.

AUTH PLAIN and LOGIN are offered without TLS (this is a loopback test server) and accept
exactly --user / --password (default flagstone / flagstone-test); AUTH is optional.

Recipients whose local part starts with `tempfail` are answered 451 (a transient error),
and those starting with `reject` 550 (a permanent one), so clients' retry logic can be
tested against a real server.

Prints `ready` on stdout once it accepts connections; stops on SIGTERM or SIGINT.
"""

import argparse
import datetime
import itertools
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.sequence = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Temporary failure, try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        auth = session.auth_data if session.authenticated else None
        login = auth.login if isinstance(auth, LoginPassword) else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_login": login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
            "peer": "%s:%s" % tuple(session.peer[:2]) if session.peer else None,
            "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "data": content.decode("utf-8", "replace"),
        }
        with self.lock:
            name = "%06d-%d.json" % (next(self.sequence), datetime.datetime.now().timestamp() * 1e9)
        path = os.path.join(self.directory, name)
        partial = os.path.join(self.directory, "." + name + ".partial")
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        os.replace(partial, path)
        return "250 2.0.0 Message accepted"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", default="flagstone")
    parser.add_argument("--password", default="flagstone-test")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(
        Sink(args.dir),
        hostname=args.host,
        port=args.port,
        server_hostname="smtp-sink.localhost",
        authenticator=authenticator(args.user, args.password),
        auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("ready", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

"""A real SMTP server for the tests (Python stdlib `smtpd`, 3.11 and older); see `smtp.rs`.

Usage: python3 smtp_sink.py MESSAGES_FILE

Listens on 127.0.0.1 on a free port and prints "PORT <n>" once it accepts connections.
Each accepted message is appended to MESSAGES_FILE as one JSON object per line:
{peer, mailfrom, rcpttos, subject, body, raw}, with subject and body decoded.
Recipients whose local part starts with "reject" get "550 5.1.1", "busy" get "451 4.3.0".
"""

import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import email  # noqa: E402
import email.policy  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

try:
    import asyncore
    import smtpd
except ImportError:
    sys.stderr.write("python3 has no smtpd module (removed in Python 3.12)\n")
    sys.exit(3)


class Sink(smtpd.SMTPServer):
    def __init__(self, out_path):
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.out_path = out_path

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        local = rcpttos[0].split("@")[0] if rcpttos else ""
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % rcpttos[0]
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(data, policy=email.policy.default)
        record = {
            "peer": peer[0],
            "mailfrom": mailfrom,
            "rcpttos": rcpttos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "body": msg.get_content(),
            "raw": data.decode("utf-8", "replace"),
        }
        with open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return None


def main():
    server = Sink(sys.argv[1])
    port = server.socket.getsockname()[1]
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    asyncore.loop(timeout=0.2)


if __name__ == "__main__":
    main()

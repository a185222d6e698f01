"""Send one message over SMTP (smtplib): plain, STARTTLS or implicit TLS, optional AUTH; one-line errors.

The only module that imports smtplib. Every failure becomes an EmailError naming the setting to fix; the
password is read from the environment at send time and never appears in a message, log or exception.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.message import EmailMessage

from monitor.errors import EmailError
from monitor.models import EmailSettings

logger = logging.getLogger(__name__)


def _password(settings: EmailSettings) -> str | None:
    if not settings.username:
        return None
    value = os.environ.get(settings.password_env or "")
    if not value:
        raise EmailError(f"email: the environment variable {settings.password_env} (email.password_env) is not set")
    return value


def _tls_context(settings: EmailSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise EmailError(f"email: cannot load email.tls_ca_file {settings.tls_ca_file}: {exc}") from None


def send(settings: EmailSettings, message: EmailMessage) -> None:
    """Send `message` to its To: addresses. Raises EmailError (one line, naming the setting to fix)."""
    where = f"{settings.host}:{settings.port}"
    password = _password(settings)
    context = _tls_context(settings) if settings.security != "none" else None
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                     context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                if not client.has_extn("starttls"):
                    raise EmailError(f"email: {where} does not offer STARTTLS (check email.security)")
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, password or "")
            refused = client.send_message(message)
    except EmailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailError(f"email: {where} refused the login of {settings.username!r} ({exc.smtp_code}); check "
                         f"email.username and the password in ${settings.password_env}") from None
    except smtplib.SMTPNotSupportedError:
        raise EmailError(f"email: {where} does not support AUTH on this connection (check email.security)") from None
    except ssl.SSLCertVerificationError as exc:
        raise EmailError(f"email: the TLS certificate of {where} is not trusted ({exc.verify_message}); check "
                         f"email.host or email.tls_ca_file") from None
    except ssl.SSLError as exc:
        raise EmailError(f"email: TLS with {where} failed ({exc.reason}); check email.security "
                         f"(ssl for port 465, starttls for 587)") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailError(f"email: {where} refused every recipient ({', '.join(exc.recipients)}); check email.to") \
            from None
    except smtplib.SMTPSenderRefused as exc:
        raise EmailError(f"email: {where} refused the sender {exc.sender!r}; check email.from") from None
    except smtplib.SMTPServerDisconnected:
        raise EmailError(f"email: {where} closed the connection (check email.security and email.port)") from None
    except smtplib.SMTPException as exc:
        raise EmailError(f"email: SMTP error from {where}: {str(exc).splitlines()[0][:200]}") from None
    except TimeoutError:
        raise EmailError(f"email: {where} did not answer within {settings.timeout:g}s (check email.host, "
                         f"email.port, email.timeout)") from None
    except OSError as exc:
        raise EmailError(f"email: cannot connect to {where}: {exc.strerror or exc} (check email.host and "
                         f"email.port)") from None
    if refused:
        logger.warning("email: some recipients were refused: %s", ", ".join(refused))
    logger.info("email: sent %r to %s", str(message["Subject"]), message["To"])

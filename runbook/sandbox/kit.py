"""What every add-on of the twin's AWS proxy is built with: one kit, handed to each
``install`` (``cfrules``, ``r53rules``, ``s3rules``, ``cfalias``, ``functions``).

* ``Call``, ``Route`` and ``Reply`` (the proxy's, re-exported): a request, a table's row,
  and the one reply type of the tables, ``(status, headers, body)``;
* ``aws_error`` and ``s3_error``: AWS's XML error bodies (the query/REST-XML services'
  ``ErrorResponse``, and S3's bare ``Error``), the message escaped;
* ``header``: a request header by name, whatever its case;
* ``Kit.client``: boto3 clients made by the twin's one factory (``moto_clients``), straight
  to moto by default or through the proxy itself, so an add-on never names keys or a URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from runbook.sandbox.proxy import AwsProxy, Call, Reply, Route, header

__all__ = ["KEYS", "AwsProxy", "Call", "ClientFactory", "Kit", "Reply", "Route", "aws_error",
           "header", "moto_clients", "s3_error"]
# (service, region=None, url=None) -> a boto3 client; url None: straight to moto
ClientFactory = Callable[..., Any]

CLOUDFRONT_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
# what the twin's clients sign with: moto accepts any key, and a run wired to the twin
# uses the same ones (twin.wire_to), so no add-on names its own
KEYS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


def moto_clients(moto_url: str, default_region: str) -> ClientFactory:
    """The twin's client factory: ``client(service, region=None, url=None)``."""

    def client(service: str, region: str | None = None, url: str | None = None) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=url or moto_url,  # type: ignore[call-overload]
                            region_name=region or default_region, **KEYS)
    return client


def aws_error(status: int, code: str, message: str, namespace: str = CLOUDFRONT_NS) -> Reply:
    """An error as CloudFront, Route53 and the other REST-XML APIs send one."""
    body = (f'<?xml version="1.0"?><ErrorResponse xmlns="{namespace}"><Error><Type>Sender'
            f"</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


def s3_error(status: int, code: str, message: str) -> Reply:
    """An error as S3 sends one: a bare ``Error`` element."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message>"
            f"<RequestId>{secrets.token_hex(8)}</RequestId></Error>")
    return status, {"Content-Type": "application/xml"}, body.encode()


@dataclass(frozen=True)
class Kit:
    """The proxy an add-on installs its routes in, and the twin's client factory."""

    proxy: AwsProxy
    client: ClientFactory

    def through_proxy(self, service: str, region: str = "us-east-1") -> Any:
        """A client whose calls go through the proxy (so its rules apply to them); ask
        for it once the proxy serves, when its address is known."""
        return self.client(service, region, self.proxy.url)

"""A twin's state on disk, so a twin started again with ``--state DIR`` continues.

moto keeps its services in this process (the threaded server runs here), so the AWS state
is saved as moto holds it: its S3, CloudFront, Route53 and ACM backends, pickled (keys and
certificates, which do not pickle, as PEM). Next to it, ``twin.json`` holds what the
twin adds (world ids, ETags, deployment and change deadlines, configurations as sent,
the edge's certificates), and the CA and certificate files stay in DIR, so clients keep
trusting the edge across restarts. Deadlines are wall-clock times: a restarted twin
finishes a deployment when it would have finished anyway.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

SERVICES = ("s3", "cloudfront", "route53", "acm")
MOTO = "moto.pickle"
TWIN = "twin.json"


def _certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization as ser

    return ser.load_pem_private_key(pem, None)


def _public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization as ser

    return ser.load_pem_public_key(pem)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if not type(obj).__module__.startswith("cryptography"):
            return NotImplemented
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization as ser

        if isinstance(obj, x509.Certificate):
            return _certificate, (obj.public_bytes(ser.Encoding.PEM),)
        if hasattr(obj, "private_bytes"):
            pem = obj.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                    ser.NoEncryption())
            return _private_key, (pem,)
        if hasattr(obj, "public_bytes"):
            pem = obj.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
            return _public_key, (pem,)
        return NotImplemented


def saved(folder: Path) -> bool:
    return (folder / TWIN).is_file() and (folder / MOTO).is_file()


def save(folder: Path, twin: dict[str, Any]) -> None:
    """Write moto's backends and ``twin`` to ``folder``, each file replaced whole."""
    from moto.backends import get_backend

    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(
        {svc: dict(get_backend(svc)) for svc in SERVICES})  # type: ignore[call-overload]
    _write(folder / MOTO, buf.getvalue())
    _write(folder / TWIN, json.dumps(twin, indent=1, sort_keys=True).encode())


def load(folder: Path) -> dict[str, Any]:
    """Put the saved backends back into moto; the twin's own part, as saved."""
    from moto.backends import get_backend

    backends = pickle.loads((folder / MOTO).read_bytes())
    for svc in SERVICES:
        live = get_backend(svc)  # type: ignore[call-overload]
        live.clear()
        live.update(backends.get(svc, {}))
    _index_buckets(get_backend("s3"))
    data: dict[str, Any] = json.loads((folder / TWIN).read_text())
    return data


def _index_buckets(s3: Any) -> None:
    """moto finds a bucket's account through an index beside its backends (one namespace
    for every account, as S3 has): rebuilt for the buckets just put back, so none that
    the process made since is still found (or refused as taken) by name."""
    index = getattr(s3, "bucket_accounts", None)
    if not isinstance(index, dict):
        return
    index.clear()
    for account_id, partitions in s3.items():
        for partition, backend in partitions.items():
            for name in getattr(backend, "buckets", {}):
                index[name] = (partition, account_id)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)

"""The network family of kinds: ``dns``, ``http`` and ``tls`` register kinds. Under them:
``resolver`` (DNS queries, the authoritative walk), ``client`` and ``parse`` (our own
HTTP/1.1 engine on asyncio), ``redirect`` and ``bulk`` (redirect walks and maps),
``x509`` (certificates), ``net`` and ``common`` (addresses, pinning, shared options).
"""

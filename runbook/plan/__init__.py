"""The plan format: YAML with a position for every node (``yamlio``), the models
(``model``), templates (``template``), the library of reusable steps (``library``),
loading and validation (``loader``, ``structure``, ``specs``, ``outputs``), the JSON
Schema (``schema``) and plain-words descriptions of steps and checks (``describe``).

A file becomes a frozen, resolved ``Plan`` here; nothing in this package touches AWS,
DNS or HTTP.
"""

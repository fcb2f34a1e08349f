"""CloudFront's XML, read and written by the shapes of botocore's own model of the API, so
that an operation the twin answers itself (moto has none of it) speaks exactly the
elements boto3 sends and expects: list members by their wire names (``DnsName``,
``ContinuousDeploymentPolicySummary``), booleans as ``true``/``false``, times in ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import functools
import xml.etree.ElementTree as ET
from typing import Any

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("cloudfront")


def shape(name: str) -> Any:
    return _model().shape_for(name)


def _element(name: str, of: Any, value: Any) -> ET.Element:
    el = ET.Element(name)
    kind = of.type_name
    if kind == "structure":
        for member, sub in of.members.items():
            if value.get(member) is not None:
                el.append(_element(sub.serialization.get("name", member), sub, value[member]))
    elif kind == "list":
        child = of.member.serialization.get("name", "member")
        for item in value:
            el.append(_element(child, of.member, item))
    elif kind == "boolean":
        el.text = "true" if value else "false"
    elif kind == "timestamp":
        el.text = (value if isinstance(value, dt.datetime) else dt.datetime.now(dt.UTC)) \
            .strftime("%Y-%m-%dT%H:%M:%S.000Z")
    else:
        el.text = str(value)
    return el


def write(root: str, of: str, value: dict[str, Any]) -> bytes:
    """``value`` (a dict as boto3 shows it) as the XML document ``<root>`` of shape ``of``."""
    el = _element(root, shape(of), value)
    el.set("xmlns", NS)
    return b'<?xml version="1.0"?>' + ET.tostring(el)


def _value(el: ET.Element, of: Any) -> Any:
    kind = of.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        children = {c.tag.rsplit("}", 1)[-1]: c for c in el}
        for member, sub in of.members.items():
            found = children.get(sub.serialization.get("name", member))
            if found is not None:
                out[member] = _value(found, sub)
        return out
    if kind == "list":
        return [_value(c, of.member) for c in el]
    text = (el.text or "").strip()
    if kind == "boolean":
        return text.lower() == "true"
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    return text


def read(body: bytes, of: str) -> dict[str, Any] | None:
    """The XML document ``body`` as a dict of shape ``of`` (None: not XML)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    found: dict[str, Any] = _value(root, shape(of))
    return found

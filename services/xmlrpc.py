"""XML-RPC on the wire, parsed safely: the stdlib (un)marshaller on defusedxml's parser.

``xmlrpc.client`` alone would expand entities; ``defusedxml``'s expat parser with
``forbid_dtd`` refuses any DTD, so "billion laughs" and external entities never
reach the unmarshaller. Sizes are capped before parsing.
"""

from __future__ import annotations

import xml.parsers.expat
from typing import Any
from xmlrpc.client import Fault, ResponseError, Unmarshaller, dumps

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

# A pingback call is a few hundred bytes; anything much bigger is not one of ours.
MAX_CALL_BYTES = 64 * 1024
# Responses we read when sending pings are as small.
MAX_RESPONSE_BYTES = 64 * 1024

# Interoperability fault codes for XML-RPC servers (specs.xmlrpc.com/spec/xmlrpc-errors).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class XmlRpcError(Exception):
    """A request that is not a usable XML-RPC call; answered as a fault."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _unmarshal(data: bytes, max_bytes: int) -> Unmarshaller:
    if len(data) > max_bytes:
        raise XmlRpcError(PARSE_ERROR, "The XML-RPC document is too large.")
    target = Unmarshaller(use_datetime=False, use_builtin_types=True)
    parser = DefusedExpatParser(target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException:
        raise XmlRpcError(PARSE_ERROR, "Parse error: DTDs and entities are not accepted.") from None
    except xml.parsers.expat.ExpatError:
        raise XmlRpcError(PARSE_ERROR, "Parse error: the document is not well-formed XML.") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, ResponseError):
        raise XmlRpcError(INVALID_REQUEST, "Invalid XML-RPC: a value could not be read.") from None
    return target


def parse_call(data: bytes) -> tuple[str, tuple[Any, ...]]:
    """The method name and parameters of an XML-RPC ``methodCall``; raises XmlRpcError."""
    target = _unmarshal(data, MAX_CALL_BYTES)
    method = target.getmethodname()
    try:
        params = target.close()
    except (ResponseError, IndexError, Fault):
        raise XmlRpcError(INVALID_REQUEST, "Invalid XML-RPC: not a method call.") from None
    if not isinstance(method, str) or not method:
        raise XmlRpcError(INVALID_REQUEST, "Invalid XML-RPC: not a method call.")
    return method, tuple(params)


def parse_response(data: bytes) -> Any:
    """The single value of an XML-RPC ``methodResponse``; raises ``Fault`` or XmlRpcError."""
    target = _unmarshal(data, MAX_RESPONSE_BYTES)
    try:
        values = target.close()  # raises Fault for a fault response
    except (ResponseError, IndexError):
        raise XmlRpcError(INVALID_REQUEST, "Invalid XML-RPC response.") from None
    if target.getmethodname() is not None or len(values) != 1:
        raise XmlRpcError(INVALID_REQUEST, "Invalid XML-RPC response.")
    return values[0]


def fault(code: int, message: str) -> bytes:
    """A ``methodResponse`` carrying a fault."""
    return dumps(Fault(code, message), methodresponse=True, encoding="utf-8").encode("utf-8")


def success(value: Any) -> bytes:
    """A ``methodResponse`` carrying one value."""
    return dumps((value,), methodresponse=True, encoding="utf-8").encode("utf-8")


def call(method: str, *params: Any) -> bytes:
    """A ``methodCall`` document, for sending pings."""
    return dumps(params, methodname=method, encoding="utf-8").encode("utf-8")

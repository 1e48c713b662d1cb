"""Wire protocol v1: frames, codec, errors, roles, the method catalogue and the journal's
event models (the contract)."""

from protocol.codec import decode_client_frame, pack, unpack
from protocol.errors import ERROR_CODES, ErrorCode, ProtocolError
from protocol.version import PROTOCOL_VERSION, SUBPROTOCOL

__all__ = [
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "SUBPROTOCOL",
    "ErrorCode",
    "ProtocolError",
    "decode_client_frame",
    "pack",
    "unpack",
]

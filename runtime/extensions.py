"""
wsspec.extensions
~~~~~~~~~~~~~~~~~

WebSocket extensions (RFC 6455 §9) and the hooks through which the frame
layer runs them.

An :class:`Extension` takes part in two phases:

1. Negotiation, during the opening handshake (RFC 6455 §9.1). A client puts
   :meth:`Extension.offer` into ``Sec-WebSocket-Extensions`` and, if the
   server answers with the extension, calls :meth:`Extension.finalize` with
   the server's answer. A server calls :meth:`Extension.accept` with each of
   the client's offers naming the extension and answers with what it returns.
2. Framing, once the connection is open. Only extensions whose
   :meth:`Extension.enabled` returns ``True`` are run. Inbound frames pass
   through ``frame_inbound_header``, ``frame_inbound_payload_data`` and
   ``frame_inbound_complete``; outbound frames through ``frame_outbound``.

The base class implements every hook as a no-op, so a subclass overrides
only what it needs. Same names, signatures and defaults as
``wsproto.extensions``.

:class:`PerMessageDeflate` (RFC 7692) is a placeholder: compression is not
implemented yet, so it never offers, never accepts and is never enabled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ._generated.framing import RsvBits

if TYPE_CHECKING:
    from ._generated.close_codes import CloseReason
    from ._generated.opcodes import Opcode
    from .frame_protocol import FrameDecoder, FrameProtocol

__all__ = ["Extension", "PerMessageDeflate", "SUPPORTED_EXTENSIONS"]


class Extension(ABC):
    """
    Base class of WebSocket extensions (RFC 6455 §9).

    Subclasses set the class attribute ``name`` (``str``, the extension token
    used in ``Sec-WebSocket-Extensions``, e.g. ``"permessage-deflate"``) and
    implement :meth:`offer`. All other methods have working defaults.
    """

    #: The extension token (``str``) as it appears in ``Sec-WebSocket-Extensions``.
    name: str

    def enabled(self) -> bool:
        """
        Whether the extension was negotiated and must process frames.

        The frame layer only runs the hooks of enabled extensions. Default:
        ``False``; :meth:`accept` / :meth:`finalize` typically switch it on.
        """
        return False

    @abstractmethod
    def offer(self) -> bool | str:
        """
        Client side: what to offer in ``Sec-WebSocket-Extensions``.

        Return ``True`` to offer the bare name, a ``str`` of parameters
        (``"a=1; b"``, ASCII, without the name) to offer ``name; a=1; b``, or
        ``False`` to offer nothing.
        """

    def accept(self, offer: str) -> bool | str | None:
        """
        Server side: answer one client offer for this extension.

        ``offer`` is the whole offer as a ``str``, name included (e.g.
        ``"permessage-deflate; client_max_window_bits"``). Return ``True``
        (or ``""``) to answer with the bare name, a ``str`` of parameters to
        answer ``name; params``, or ``None`` / ``False`` to decline.
        Default: ``None`` (decline).
        """
        return None

    def finalize(self, offer: str) -> None:
        """
        Client side: the server accepted this extension.

        ``offer`` is the server's answer as a ``str``, name included. Called
        at most once per accepted answer, before the connection is opened.
        May raise ``ValueError`` on unusable parameters; the handshake turns
        that into a ``RemoteProtocolError``. Default: does nothing.
        """
        return None

    def frame_inbound_header(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        payload_length: int,
    ) -> CloseReason | RsvBits:
        """
        A frame header arrived (``payload_length`` in bytes).

        Return the :class:`RsvBits` this extension claims (bits it gives a
        meaning to, so the frame layer does not reject them), or a
        ``CloseReason`` to fail the connection. Default: claims no bits.
        """
        return RsvBits(False, False, False)

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes,
    ) -> bytes | CloseReason:
        """
        A chunk of (unmasked) inbound payload, ``bytes``.

        Return the transformed bytes, or a ``CloseReason`` to fail the
        connection. Default: returns ``data`` unchanged.
        """
        return data

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool,
    ) -> bytes | CloseReason | None:
        """
        The current inbound frame ended (``fin`` is its FIN bit).

        Return extra ``bytes`` to append to the frame's payload, ``None`` for
        none, or a ``CloseReason`` to fail the connection. Default: ``None``.
        """
        return None

    def frame_outbound(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        """
        An outbound frame is about to be written.

        Return the ``(rsv, payload)`` to write instead. Default: unchanged.
        """
        return (rsv, data)


# RFC 7692 §7.1.2: window sizes are 8..15 bits; zlib's raw deflate cannot
# use 8, hence the lower bound of 9 (same bounds and default as wsproto).
# TODO(RFC 7692 issue): take these from the generated spec once it covers
# permessage-deflate.
_MIN_WINDOW_BITS = 9
_MAX_WINDOW_BITS = 15


class PerMessageDeflate(Extension):
    """
    permessage-deflate (RFC 7692), NOT IMPLEMENTED YET.

    Compression is not implemented yet. Until it is, this extension declines
    honestly instead of negotiating something it cannot do:

    - as a client, :meth:`offer` returns ``False``, so no
      ``Sec-WebSocket-Extensions`` offer is sent and no server can accept it;
    - as a server, :meth:`accept` returns ``None`` for every offer, so no
      ``Sec-WebSocket-Extensions`` header is answered;
    - :meth:`enabled` is always ``False`` and :meth:`finalize` does not
      enable it, so its frame hooks (the inherited no-ops) never run.

    The constructor takes wsproto's parameters and validates them the same
    way (window bits must be 9..15 inclusive, else ``ValueError``), so code
    written for wsproto constructs it unchanged.
    """

    name = "permessage-deflate"

    DEFAULT_CLIENT_MAX_WINDOW_BITS = _MAX_WINDOW_BITS
    DEFAULT_SERVER_MAX_WINDOW_BITS = _MAX_WINDOW_BITS

    def __init__(
        self,
        client_no_context_takeover: bool = False,
        client_max_window_bits: int | None = None,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
    ) -> None:
        self.client_no_context_takeover = client_no_context_takeover
        self.server_no_context_takeover = server_no_context_takeover
        self._client_max_window_bits = self.DEFAULT_CLIENT_MAX_WINDOW_BITS
        self._server_max_window_bits = self.DEFAULT_SERVER_MAX_WINDOW_BITS
        if client_max_window_bits is not None:
            self.client_max_window_bits = client_max_window_bits
        if server_max_window_bits is not None:
            self.server_max_window_bits = server_max_window_bits

    @staticmethod
    def _check_window_bits(value: int) -> int:
        if not _MIN_WINDOW_BITS <= value <= _MAX_WINDOW_BITS:
            msg = (
                f"Window size must be between {_MIN_WINDOW_BITS} and "
                f"{_MAX_WINDOW_BITS} inclusive"
            )
            raise ValueError(msg)
        return value

    @property
    def client_max_window_bits(self) -> int:
        """The client's LZ77 window size, in bits (9..15)."""
        return self._client_max_window_bits

    @client_max_window_bits.setter
    def client_max_window_bits(self, value: int) -> None:
        self._client_max_window_bits = self._check_window_bits(value)

    @property
    def server_max_window_bits(self) -> int:
        """The server's LZ77 window size, in bits (9..15)."""
        return self._server_max_window_bits

    @server_max_window_bits.setter
    def server_max_window_bits(self, value: int) -> None:
        self._server_max_window_bits = self._check_window_bits(value)

    def enabled(self) -> bool:
        """Always ``False``: compression is not implemented yet."""
        return False

    def offer(self) -> bool | str:
        """``False``: offer nothing, compression is not implemented yet."""
        return False

    def accept(self, offer: str) -> bool | str | None:
        """``None``: decline every offer, compression is not implemented yet."""
        return None

    def finalize(self, offer: str) -> None:
        """
        Does nothing and stays disabled: we never offer, so a server that
        answers with permessage-deflate anyway is refused by the handshake
        before this could matter.
        """
        return None

    def __repr__(self) -> str:
        descr = [f"client_max_window_bits={self.client_max_window_bits}"]
        if self.client_no_context_takeover:
            descr.append("client_no_context_takeover")
        descr.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.server_no_context_takeover:
            descr.append("server_no_context_takeover")
        return "<{} {}>".format(self.__class__.__name__, "; ".join(descr))


#: Maps every supported extension name (``str``) to its class, e.g. to
#: instantiate extensions by name.
SUPPORTED_EXTENSIONS: dict[str, type[Extension]] = {
    PerMessageDeflate.name: PerMessageDeflate,
}

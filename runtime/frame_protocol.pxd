# Cython declarations for the compiled build of frame_protocol.py (issue 13).
# The .py beside this file is the one source; this file only gives types.
# Every attribute stays readable and writable from Python ("public"), as in
# the pure build: tests and wsproto-style code read some of them.
cimport cython
# The spec's constants as C constants (generated/constants.pxd, written by
# `python -m codegen` from spec/), under the private names the .py defines
# from wsspec._generated for the pure build; the public names (FIN_MASK, ...)
# stay the Python objects imported from wsspec._generated.
from wsspec._generated.constants cimport (
    FIN_MASK as _FIN_MASK,
    MASK_MASK as _MASK_MASK,
    OPCODE_MASK as _OPCODE_MASK,
    PAYLOAD_LEN_MASK as _PAYLOAD_LEN_MASK,
    MAX_PAYLOAD_NORMAL as _MAX_PAYLOAD_NORMAL,
    MAX_PAYLOAD_TWO_BYTE as _MAX_PAYLOAD_TWO_BYTE,
    PAYLOAD_LENGTH_TWO_BYTE as _PAYLOAD_LENGTH_TWO_BYTE,
    PAYLOAD_LENGTH_EIGHT_BYTE as _PAYLOAD_LENGTH_EIGHT_BYTE,
    MAX_CONTROL_PAYLOAD as _MAX_CONTROL_PAYLOAD,
    MASKING_KEY_LENGTH as _MASKING_KEY_LENGTH,
)

# Values the .py derives at import (struct sizes in bytes, combined masks):
# C globals, private (invisible from Python in this build).
cdef Py_ssize_t _SHORT_HEADER_LEN, _TWO_BYTE_HEADER_LEN, _EIGHT_BYTE_HEADER_LEN
cdef int _RSV_ALL, _FIN_OPCODE


cdef class FrameContext:
    cdef public bint client
    cdef public object max_message_size
    cdef public bint message_ends


cdef class FrameDecoder:
    cdef dict __dict__
    cdef object __weakref__
    cdef public bint client
    cdef public int _mask_bit
    cdef public object extensions
    cdef public FrameContext context
    cdef public object max_frame_size
    cdef public bint _message_open
    cdef public object message_opcode
    cdef public bint _message_transformed
    cdef public Py_ssize_t _message_size
    cdef public object _draining
    cdef public bytearray _buf
    cdef public Py_ssize_t _pos
    cdef public bint _stopped
    cdef public object _pending
    cdef public object header
    cdef public object effective_opcode
    cdef public Py_ssize_t payload_required
    cdef public Py_ssize_t payload_consumed

    # The methods the receive path calls on itself: cpdef, so those calls
    # are C calls (a subclass or an instance attribute still overrides
    # them, as in pure Python).
    cpdef object receive_bytes(self, object data)
    cpdef object _begin_data(self, object byte0, object opcode, object payload_len, object transformed)
    cpdef object _piece(self, object header, object payload, object finished)
    cpdef object _through_extensions(self, object header, object payload, object first, object wire_done)
    cpdef object _drain(self, object header)
    cpdef object parse_header(self)
    cpdef object extension_processing(self, object opcode, object rsv, object payload_len)

    @cython.locals(pos=Py_ssize_t, end=Py_ssize_t, start=Py_ssize_t, length=Py_ssize_t,
                   byte0=int, mask_bit=int, buf=bytearray)
    cpdef object process_buffer(self)

    @cython.locals(pos=Py_ssize_t, available=Py_ssize_t, consumed=Py_ssize_t, remaining=Py_ssize_t,
                   end=Py_ssize_t, buf=bytearray)
    cpdef object _process_buffer(self)


cdef class FrameProtocol:
    cdef dict __dict__
    cdef object __weakref__
    cdef public bint client
    cdef public object extensions
    cdef public FrameDecoder _frame_decoder
    cdef public object _text_decoder
    cdef public bint _started
    cdef public object _outbound_opcode

    cpdef object next_frame(self)
    cpdef object receive_bytes(self, object data)
    cpdef object _process_close(self, object frame)
    cpdef object _text_piece(self, object frame)
    cpdef bytes send_data(self, object payload=*, object fin=*)
    cpdef object _make_fin_rsv_opcode(self, object fin, object rsv, object opcode)

    @cython.locals(length=Py_ssize_t, byte0=int, byte1=int)
    cpdef bytes _serialize_frame(self, object opcode, object payload=*, bint fin=*)

# Cython declarations for the compiled build of handshake.py (issue 13).
# The .py beside this file is the one source; this file only gives types.
# Every attribute stays readable and writable from Python ("public"), as in
# the pure build. _origin_refusal (a class-level default) lives in the
# instance __dict__; everything an idle connection keeps is a slot here.

cdef class H11Handshake:
    cdef dict __dict__
    cdef object __weakref__
    cdef public bint client
    cdef public object _origins
    cdef public object _type
    cdef public object _state
    cdef public object _max_message_size
    cdef public object _max_frame_size
    cdef public object _h11_connection
    cdef public object _max_head
    cdef public object _head_received
    cdef public object _connection
    cdef public bint _h11_behind
    cdef public list _events
    cdef public object _initiating_request
    cdef public object _nonce
    cdef public list _offered

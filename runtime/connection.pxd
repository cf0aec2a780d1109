# Cython declarations for the compiled build of connection.py (issue 13).
# The .py beside this file is the one source; this file only gives types.

cdef class Connection:
    cdef dict __dict__
    cdef object __weakref__
    cdef public bint client
    cdef public object _max_message_size
    cdef public object _max_frame_size
    cdef public object _extensions
    cdef public list _events
    cdef public object _proto
    cdef public object _state
    cdef public object _closing_because
    cdef public bytes _queued_close

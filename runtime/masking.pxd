# Cython declarations for the compiled build of masking.py (issue 13).
# The .py beside this file is the one source; this file only gives types.
cimport cython

@cython.locals(n=Py_ssize_t, data_bytes=bytes, data_bytearray=bytearray,
               view="const unsigned char[::1]", src="const unsigned char*")
cpdef bytes mask_compiled(object data, object key)

cpdef bytes mask_slice(bytearray buf, Py_ssize_t start, Py_ssize_t end, object key)

@cython.locals(n=Py_ssize_t, head=Py_ssize_t, body=Py_ssize_t, i=Py_ssize_t, out=bytes, dst=cython.p_uchar, payload_bytes=bytes,
               payload_bytearray=bytearray, view="const unsigned char[::1]", src="const unsigned char*")
cpdef bytes masked_frame(bytes header, bytes key, object payload)

@cython.locals(out=bytes)
cdef bytes _xor_copy(const unsigned char* src, Py_ssize_t n, object key)

@cython.locals(i=Py_ssize_t, k0=cython.uchar, k1=cython.uchar, k2=cython.uchar, k3=cython.uchar)
cdef int _xor_into(const unsigned char* src, unsigned char* dst, Py_ssize_t n, object key) except -1

# Cython declarations for the compiled build of masking.py (issue 13).
# The .py beside this file is the one source; this file only gives types.
cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
# generated/constants.pxd (from spec/framing.yaml): a C constant, private; see frame_protocol.pxd.
from wsspec._generated.constants cimport MASKING_KEY_LENGTH as _MASKING_KEY_LENGTH

@cython.locals(n=Py_ssize_t)
cpdef bytes mask_compiled(object data, object key)

@cython.locals(data_bytes=bytes, data_bytearray=bytearray, view="const unsigned char[::1]")
cdef const unsigned char* _read_pointer(object data) except NULL

cpdef bytes mask_slice(bytearray buf, Py_ssize_t start, Py_ssize_t end, object key)

@cython.locals(n=Py_ssize_t, head=Py_ssize_t, body=Py_ssize_t, i=Py_ssize_t, out=bytes, dst=cython.p_uchar)
cpdef bytes masked_frame(bytes header, bytes key, object payload)

cdef bytes _new_bytes(Py_ssize_t n)

@cython.locals(out=bytes)
cdef bytes _xor_copy(const unsigned char* src, Py_ssize_t n, object key)

cdef int _xor_into(const unsigned char* src, unsigned char* dst, Py_ssize_t n, object key) except -1

@cython.locals(half=cython.uint, word_key=cython.ulonglong, src_words="const unsigned long long*",
               dst_words="unsigned long long*", words=Py_ssize_t, w=Py_ssize_t, i=Py_ssize_t)
cdef void _xor_key(const unsigned char* src, unsigned char* dst, Py_ssize_t n, const unsigned char* key_bytes) noexcept

@cython.locals(base=cython.p_uchar, key_at=Py_ssize_t, out=bytes)
cpdef bytes unmask_payload(bytearray buf, Py_ssize_t start, Py_ssize_t end)

@cython.locals(n=Py_ssize_t, body=Py_ssize_t, i=Py_ssize_t, out=bytes, dst=cython.p_uchar, src="const unsigned char*")
cpdef bytes short_frame(int byte0, int byte1, object key, object payload)

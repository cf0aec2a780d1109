# Cython declarations for the compiled build of handshake.py (issue 13).
# The .py beside this file is the one source; this file only gives types.
# Every attribute stays readable and writable from Python ("public"), as in
# the pure build.

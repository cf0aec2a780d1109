# Python 2.7: run the Autobahn|Testsuite's wstest with every listening socket
# bound to 127.0.0.1. wstest's fuzzingserver listens on all interfaces
# (Twisted's default ''); the compliance run must only ever use the loopback.
#
#     <py27 venv>/bin/python wstest_loopback.py -m fuzzingserver -s spec.json -u 0
import sys

from autobahntestsuite import choosereactor  # noqa: F401 -- installs the epoll reactor first
from twisted.internet import reactor

_listen_tcp = reactor.listenTCP


def _listen_tcp_loopback(port, factory, backlog=50, interface=""):
    return _listen_tcp(port, factory, backlog, interface or "127.0.0.1")


reactor.listenTCP = _listen_tcp_loopback

from autobahntestsuite.wstest import run  # noqa: E402

sys.argv[0] = "wstest"
sys.exit(run())

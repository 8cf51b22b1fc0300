"""A stand-in for GitHub Releases in tests: serves a directory over HTTPS on 127.0.0.1 with a
certificate the test made, so actions/setup/install.sh downloads as it does from github.com
(curl --proto '=https'), trusting that certificate through CURL_CA_BUNDLE.

    python3 release_mirror.py DIR CERT KEY PORT_FILE
"""

import functools
import http.server
import ssl
import sys

root, cert, key, port_file = sys.argv[1:5]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()

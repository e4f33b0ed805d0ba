"""What every emulator shares: the WSGI base with control endpoints, and the TLS server."""

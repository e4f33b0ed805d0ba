"""The offline tenant and local Functions host: development and tests only, never shipped.

Emulators speak the real protocols (managed identity endpoint, Entra ID, Key Vault, Microsoft
Graph) over real sockets and TLS, seeded from one tenant model; `devstack.host` runs
`function_app.py` on http://127.0.0.1:7071 as the Functions host would. Nothing here imports
the app's `shared/` package: the emulators are faithful to Azure, not to our code.
"""

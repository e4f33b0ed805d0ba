"""The app's package: configuration, identity, Key Vault, Graph, jobs, webhooks and context.

`function_app.py` holds only the triggers; everything they do lives here. Nothing in this
package imports `devstack/` (the offline tenant is the outside world, not part of the app).
"""

__version__ = "0.1.0"

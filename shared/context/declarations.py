"""The roles the context route's own code needs, declared as data when function_app is indexed.

Light on purpose (no SDK, no identity import): function_app imports it at module level, so
`/api/context` knows the declaration before any request.
"""

from __future__ import annotations

from shared.permissions import EVERY_CONNECTION, GRAPH, require

# The Graph probe (_probe.py) reads the organization, which needs this role.
PROBE_ROLE = "Organization.Read.All"

require(EVERY_CONNECTION, GRAPH, roles={PROBE_ROLE}, by="context:graph-probe")

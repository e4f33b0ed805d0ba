"""URL map of the webhook sink: path -> (operation name, handler name, methods)."""

from __future__ import annotations

url_paths: list[tuple[str, str, str, tuple[str, ...]]] = [
    # Slack incoming webhooks: https://hooks.slack.com/services/T.../B.../xxxx
    ("/services/<path:rest>", "PostSlackMessage", "slack", ("POST",)),
    # Teams (Office 365 connector) incoming webhooks: https://<tenant>.webhook.office.com/webhookb2/...
    ("/webhookb2/<path:rest>", "PostTeamsMessage", "teams", ("POST",)),
]

"""Graph's URL map: (path under the version root, operation name, handler method, methods).

Each path is served under `/v1.0` and `/beta`. The operation name is what the request counter
and `permissions.REQUIRED` use.
"""

from __future__ import annotations

URLS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/organization", "GetOrganization", "get_organization", ("GET",)),
    ("/applications", "ListApplications", "list_applications", ("GET",)),
    (
        "/applications(appId='<app_id>')",
        "GetApplicationByAppId",
        "get_application_by_app_id",
        ("GET",),
    ),
    ("/applications/<object_id>", "GetApplication", "get_application", ("GET",)),
    (
        "/applications/<object_id>/federatedIdentityCredentials",
        "ListFederatedIdentityCredentials",
        "list_federated_credentials",
        ("GET",),
    ),
    ("/servicePrincipals", "ListServicePrincipals", "list_service_principals", ("GET",)),
    (
        "/servicePrincipals(appId='<app_id>')",
        "GetServicePrincipalByAppId",
        "get_service_principal_by_app_id",
        ("GET",),
    ),
    ("/servicePrincipals/<object_id>", "GetServicePrincipal", "get_service_principal", ("GET",)),
    (
        "/servicePrincipals/<object_id>/appRoleAssignments",
        "ListServicePrincipalAppRoleAssignments",
        "list_app_role_assignments",
        ("GET",),
    ),
    ("/users", "ListUsers", "list_users", ("GET",)),
    ("/users/<key>", "GetUser", "get_user", ("GET",)),
    ("/me", "GetMe", "get_me", ("GET",)),
    ("/groups", "ListGroups", "list_groups", ("GET",)),
    ("/groups/<object_id>", "GetGroup", "get_group", ("GET",)),
    ("/groups/<object_id>/members", "ListGroupMembers", "list_group_members", ("GET",)),
    ("/subscriptions", "CreateSubscription", "create_subscription", ("POST",)),
    ("/subscriptions", "ListSubscriptions", "list_subscriptions", ("GET",)),
    ("/subscriptions/<sub_id>", "GetSubscription", "get_subscription", ("GET",)),
    ("/subscriptions/<sub_id>", "UpdateSubscription", "update_subscription", ("PATCH",)),
    ("/subscriptions/<sub_id>", "DeleteSubscription", "delete_subscription", ("DELETE",)),
]

# `$batch` is served by the emulator itself (it re-dispatches each item).
BATCH_PATH = "/$batch"
VERSIONS = ("v1.0", "beta")

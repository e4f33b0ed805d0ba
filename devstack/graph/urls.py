"""Graph's URL map: (path under the version root, operation name, handler method, methods).

Each path is served under `/v1.0` and `/beta`. The operation name is what the request counter
and `permissions.REQUIRED` use.
"""

from __future__ import annotations

URLS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/organization", "GetOrganization", "get_organization", ("GET",)),
    ("/applications", "ListApplications", "list_applications", ("GET",)),
    ("/applications", "CreateApplication", "create_application", ("POST",)),
    (
        "/applications(appId='<app_id>')",
        "GetApplicationByAppId",
        "get_application_by_app_id",
        ("GET",),
    ),
    ("/applications/<object_id>", "GetApplication", "get_application", ("GET",)),
    ("/applications/<object_id>", "UpdateApplication", "update_application", ("PATCH",)),
    *[
        (f"/applications/<object_id>/{prefix}{action}", operation, handler, ("POST",))
        for prefix in ("", "microsoft.graph.")
        for action, operation, handler in (
            ("addKey", "AddKey", "add_key"),
            ("removeKey", "RemoveKey", "remove_key"),
            ("addPassword", "AddPassword", "add_password"),
            ("removePassword", "RemovePassword", "remove_password"),
        )
    ],
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
    ("/users", "CreateUser", "create_user", ("POST",)),
    ("/users/delta", "UsersDelta", "users_delta", ("GET",)),
    ("/users/<key>", "GetUser", "get_user", ("GET",)),
    ("/users/<key>", "UpdateUser", "update_user", ("PATCH",)),
    ("/users/<key>", "DeleteUser", "delete_user", ("DELETE",)),
    ("/users/<key>/revokeSignInSessions", "RevokeSignInSessions", "revoke_sign_in_sessions", ("POST",)),
    ("/me", "GetMe", "get_me", ("GET",)),
    ("/groups", "ListGroups", "list_groups", ("GET",)),
    ("/groups", "CreateGroup", "create_group", ("POST",)),
    ("/groups/delta", "GroupsDelta", "groups_delta", ("GET",)),
    ("/groups/<object_id>", "GetGroup", "get_group", ("GET",)),
    ("/groups/<object_id>", "UpdateGroup", "update_group", ("PATCH",)),
    ("/groups/<object_id>", "DeleteGroup", "delete_group", ("DELETE",)),
    ("/groups/<object_id>/members", "ListGroupMembers", "list_group_members", ("GET",)),
    ("/groups/<object_id>/members/$ref", "AddGroupMember", "add_group_member", ("POST",)),
    (
        "/groups/<object_id>/members/<member_id>/$ref",
        "RemoveGroupMember",
        "remove_group_member",
        ("DELETE",),
    ),
    ("/subscriptions", "CreateSubscription", "create_subscription", ("POST",)),
    ("/subscriptions", "ListSubscriptions", "list_subscriptions", ("GET",)),
    ("/subscriptions/<sub_id>", "GetSubscription", "get_subscription", ("GET",)),
    ("/subscriptions/<sub_id>", "UpdateSubscription", "update_subscription", ("PATCH",)),
    ("/subscriptions/<sub_id>", "DeleteSubscription", "delete_subscription", ("DELETE",)),
    *[
        (
            f"/subscriptions/<sub_id>/{prefix}reauthorize",
            "ReauthorizeSubscription",
            "reauthorize_subscription",
            ("POST",),
        )
        for prefix in ("", "microsoft.graph.")
    ],
]

# `$batch` is served by the emulator itself (it re-dispatches each item).
BATCH_PATH = "/$batch"
VERSIONS = ("v1.0", "beta")

"""Routes of the web UI."""

from __future__ import annotations

from django.urls import path

from meterkms.web.views import accounts, audit, home, invitations, organisations, tokens, users

app_name = "web"

urlpatterns = [
    path("", home.home_view, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("profile/", accounts.profile_view, name="profile"),
    path("profile/language/", accounts.language_view, name="language"),
    path("password/change/", accounts.password_change_view, name="password_change"),
    path("menu/<slug:menu>/", home.menu_view, name="menu"),
    path("admin/tokens/", tokens.tokens_view, name="tokens"),
    path("admin/tokens/<int:token_id>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("admin/audit/", audit.audit_view, name="audit"),
    # Admin menu: users, invitations, organisations, partners (docs/admin.md)
    path("admin/users/", users.users_view, name="users"),
    path("admin/users/add/", users.user_add_view, name="user_add"),
    path("admin/users/<int:user_id>/edit/", users.user_edit_view, name="user_edit"),
    path("admin/users/<int:user_id>/password/", users.user_password_view, name="user_password"),
    path(
        "admin/users/<int:user_id>/deactivate/",
        users.user_deactivate_view,
        name="user_deactivate",
    ),
    path(
        "admin/users/<int:user_id>/reactivate/",
        users.user_reactivate_view,
        name="user_reactivate",
    ),
    path("admin/users/<int:user_id>/delete/", users.user_delete_view, name="user_delete"),
    path("admin/invitations/", invitations.invitations_view, name="invitations"),
    path("admin/invitations/add/", invitations.invitation_add_view, name="invitation_add"),
    path("admin/invitations/send/", invitations.invitation_send_view, name="invitation_send"),
    path(
        "admin/invitations/<int:invitation_id>/edit/",
        invitations.invitation_edit_view,
        name="invitation_edit",
    ),
    path(
        "admin/invitations/<int:invitation_id>/resend/",
        invitations.invitation_resend_view,
        name="invitation_resend",
    ),
    path(
        "admin/invitations/<int:invitation_id>/revoke/",
        invitations.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path(
        "invitations/accept/<str:token>/",
        invitations.invitation_accept_view,
        name="invitation_accept",
    ),
    path("admin/organisations/", organisations.organisations_view, name="organisations"),
    path(
        "admin/organisations/add/",
        organisations.organisation_add_view,
        name="organisation_add",
    ),
    path(
        "admin/organisations/<uuid:organisation_id>/edit/",
        organisations.organisation_edit_view,
        name="organisation_edit",
    ),
    path(
        "admin/organisations/<uuid:organisation_id>/delete/",
        organisations.organisation_delete_view,
        name="organisation_delete",
    ),
    path("admin/partners/", organisations.partners_view, name="partners"),
    path("admin/partners/add/", organisations.partner_add_view, name="partner_add"),
    path(
        "admin/partners/<int:partnership_id>/remove/",
        organisations.partner_remove_view,
        name="partner_remove",
    ),
]

"""Routes of the web UI."""

from __future__ import annotations

from django.urls import path

from meterkms.web.views import (
    account_emails,
    accounts,
    audit,
    batches,
    claims,
    device_types,
    devices,
    downloads,
    emails,
    home,
    imports,
    invitations,
    organisations,
    ownership,
    proofs,
    reauth,
    second_factor,
    tokens,
    users,
)

app_name = "web"

urlpatterns = [
    path("", home.home_view, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("profile/", accounts.profile_view, name="profile"),
    path("profile/language/", accounts.language_view, name="language"),
    path("password/change/", accounts.password_change_view, name="password_change"),
    path("reauth/", reauth.reauth_view, name="reauth"),
    path("login/code/", accounts.login_code_view, name="login_code"),
    path("profile/second-factor/", second_factor.second_factor_view, name="second_factor"),
    path("menu/<slug:menu>/", home.menu_view, name="menu"),
    path("admin/tokens/", tokens.tokens_view, name="tokens"),
    path("admin/tokens/<int:token_id>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("admin/audit/", audit.audit_view, name="audit"),
    path("catalogue/devices/", devices.device_list_view, name="devices"),
    path("catalogue/devices/<int:device_id>/", devices.device_detail_view, name="device_detail"),
    path("catalogue/devices/labels/", devices.device_labels_view, name="device_labels"),
    path("catalogue/device-types/", device_types.device_types_view, name="device_types"),
    path("catalogue/imports/", imports.import_list_view, name="imports"),
    path("catalogue/imports/new/", imports.import_new_view, name="device_import"),
    path("catalogue/imports/<int:run_id>/", imports.import_detail_view, name="import_detail"),
    path(
        "catalogue/imports/<int:run_id>/commit/", imports.import_commit_view, name="import_commit"
    ),
    path("admin/emails/", emails.template_list_view, name="email_templates"),
    path(
        "admin/emails/<int:template_id>/edit/",
        emails.template_edit_view,
        name="email_template_edit",
    ),
    path(
        "admin/emails/<int:template_id>/preview/",
        emails.template_preview_view,
        name="email_template_preview",
    ),
    path(
        "admin/emails/<int:template_id>/preview.html",
        emails.template_preview_html_view,
        name="email_template_preview_html",
    ),
    path(
        "admin/emails/<int:template_id>/test/",
        emails.template_test_view,
        name="email_template_test",
    ),
    path(
        "admin/emails/<int:template_id>/copy/",
        emails.template_copy_view,
        name="email_template_copy",
    ),
    path(
        "admin/emails/<int:template_id>/activate/",
        emails.template_activate_view,
        name="email_template_activate",
    ),
    path(
        "admin/emails/<int:template_id>/deactivate/",
        emails.template_deactivate_view,
        name="email_template_deactivate",
    ),
    path(
        "admin/emails/<int:template_id>/delete/",
        emails.template_delete_view,
        name="email_template_delete",
    ),
    path("admin/emails/outbox/", emails.outbox_view, name="email_outbox"),
    path(
        "admin/emails/outbox/<int:message_id>/",
        emails.outbox_detail_view,
        name="email_outbox_detail",
    ),
    path(
        "admin/emails/outbox/<int:message_id>/body.html",
        emails.outbox_html_view,
        name="email_outbox_html",
    ),
    path(
        "admin/emails/outbox/<int:message_id>/retry/",
        emails.outbox_retry_view,
        name="email_outbox_retry",
    ),
    path("password/forgot/", account_emails.password_forgot_view, name="password_forgot"),
    path(
        "password/reset/<str:token>/",
        account_emails.password_reset_link_view,
        name="password_reset_link",
    ),
    path("password/reset/", account_emails.password_reset_view, name="password_reset"),
    path("profile/email/", account_emails.email_change_view, name="email_change"),
    path(
        "profile/email/cancel/",
        account_emails.email_change_cancel_view,
        name="email_change_cancel",
    ),
    path(
        "email/confirm/<str:token>/",
        account_emails.email_confirm_link_view,
        name="email_confirm_link",
    ),
    path("email/confirm/", account_emails.email_confirm_view, name="email_confirm"),
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
    path(
        "admin/users/<int:user_id>/second-factor/reset/",
        users.user_mfa_reset_view,
        name="user_mfa_reset",
    ),
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
    path("catalogue/proofs/", proofs.proofs_view, name="proofs"),
    # Shipment batches, claims and hand-overs (docs/batches.md)
    path("catalogue/batches/", batches.batch_list_view, name="batches"),
    path("catalogue/batches/new/", batches.batch_create_view, name="batch_create"),
    path(
        "catalogue/batches/from-selection/",
        batches.batch_from_selection_view,
        name="batch_from_selection",
    ),
    path("catalogue/batches/claim/", batches.batch_offers_view, name="batch_offers"),
    path("catalogue/batches/<int:batch_id>/", batches.batch_detail_view, name="batch_detail"),
    path("catalogue/batches/<int:batch_id>/claim/", batches.batch_claim_view, name="batch_claim"),
    path("catalogue/devices/claim/", claims.device_claim_view, name="device_claim"),
    path("catalogue/claims/", claims.claim_requests_view, name="claim_requests"),
    path(
        "catalogue/claims/<int:request_id>/confirm/",
        claims.claim_confirm_view,
        name="claim_confirm",
    ),
    path(
        "catalogue/claims/<int:request_id>/reject/", claims.claim_reject_view, name="claim_reject"
    ),
    path("catalogue/ownership/", ownership.ownership_view, name="ownership"),
    path("catalogue/downloads/", downloads.download_list_view, name="downloads"),
    path("catalogue/downloads/new/", downloads.download_new_view, name="download_new"),
    path(
        "catalogue/downloads/<uuid:download_id>/",
        downloads.download_detail_view,
        name="download_detail",
    ),
    path(
        "catalogue/downloads/<uuid:download_id>/file/",
        downloads.download_file_view,
        name="download_file",
    ),
]

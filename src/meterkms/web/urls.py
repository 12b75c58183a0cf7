"""Routes of the web UI."""

from __future__ import annotations

from django.urls import path

from meterkms.web.views import accounts, audit, devices, downloads, home, imports, reauth, tokens

app_name = "web"

urlpatterns = [
    path("", home.home_view, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("profile/", accounts.profile_view, name="profile"),
    path("profile/language/", accounts.language_view, name="language"),
    path("password/change/", accounts.password_change_view, name="password_change"),
    path("reauth/", reauth.reauth_view, name="reauth"),
    path("menu/<slug:menu>/", home.menu_view, name="menu"),
    path("admin/tokens/", tokens.tokens_view, name="tokens"),
    path("admin/tokens/<int:token_id>/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("admin/audit/", audit.audit_view, name="audit"),
    path("catalogue/devices/", devices.device_list_view, name="devices"),
    path("catalogue/devices/<int:device_id>/", devices.device_detail_view, name="device_detail"),
    path("catalogue/devices/labels/", devices.device_labels_view, name="device_labels"),
    path("catalogue/imports/", imports.import_list_view, name="imports"),
    path("catalogue/imports/new/", imports.import_new_view, name="device_import"),
    path("catalogue/imports/<int:run_id>/", imports.import_detail_view, name="import_detail"),
    path(
        "catalogue/imports/<int:run_id>/commit/", imports.import_commit_view, name="import_commit"
    ),
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

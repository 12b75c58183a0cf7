"""Routes of the web UI."""

from __future__ import annotations

from django.urls import path

from meterkms.web.views import accounts, audit, home, tokens

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
]

"""The names of audit events: one enum, dotted ``<object>.<verb>`` values."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """Every kind of event the audit log records."""

    USER_LOGIN = "user.login"
    USER_LOGIN_FAILED = "user.login_failed"
    USER_LOCKED_OUT = "user.locked_out"
    USER_LOGOUT = "user.logout"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_PROFILE_CHANGED = "user.profile_changed"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_PASSWORD_SET = "user.password_set"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    ORGANISATION_CREATED = "organisation.created"
    ORGANISATION_UPDATED = "organisation.updated"
    ORGANISATION_MOVED = "organisation.moved"
    ORGANISATION_DELETED = "organisation.deleted"
    PARTNER_ADDED = "partner.added"
    PARTNER_REMOVED = "partner.removed"
    INVITATION_SENT = "invitation.sent"
    INVITATION_UPDATED = "invitation.updated"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    MASTER_KEY_CREATED = "vault.master_key_created"
    MASTER_KEY_ROTATED = "vault.master_key_rotated"
    DATA_KEYS_ROTATED = "vault.data_keys_rotated"
    DEVICES_IMPORTED = "devices.imported"
    DEVICE_LABELS_CHANGED = "device.labels_changed"
    DEVICE_TYPE_CREATED = "device_type.created"
    KEY_STATE_CHANGED = "key.state_changed"
    DEMO_LOADED = "system.demo_loaded"

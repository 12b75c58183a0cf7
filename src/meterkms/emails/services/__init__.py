"""The write path of emails: the sending API and every change of templates.

``queue_email`` is the API other features send through (see docs/emails.md); it lives in
:mod:`.outbox` with test emails and sending again; template changes live in :mod:`.templates`.
"""

from meterkms.emails.services.outbox import (
    checked_address,
    queue_email,
    requeue_message,
    send_test_email,
)
from meterkms.emails.services.templates import (
    activate_template,
    copy_template,
    deactivate_template,
    delete_template,
    require_edit,
    template_problems,
    update_template,
)

__all__ = [
    "activate_template",
    "checked_address",
    "copy_template",
    "deactivate_template",
    "delete_template",
    "queue_email",
    "requeue_message",
    "require_edit",
    "send_test_email",
    "template_problems",
    "update_template",
]

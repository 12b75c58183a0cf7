"""English system default texts."""

from meterkms.emails.defaults.layout import DefaultText, Language

LANGUAGE = Language(
    code="en",
    greeting="Hello {recipient_name},",
    link_hint="If the button does not work, copy this link into your browser:",
    footer="Sent by meterkms on behalf of {organisation}.",
)

TEXTS = {
    "confirm_email": DefaultText(
        name="System Default: Confirm Email (en)",
        subject="Please confirm your new email address",
        paragraphs=(
            "Your meterkms account at {organisation} is to use this email address "
            "({recipient_email}) from now on.",
            "Please confirm the address. Until you do, you keep logging in with your "
            "previous address.",
        ),
        button="Confirm email address",
        after=(
            "The link is valid until {expires_at} and works once.",
            "If you did not ask for this change, ignore this email: nothing will change. "
            "You may want to tell your administrator.",
        ),
    ),
    "invite_user": DefaultText(
        name="System Default: Invite Email (en)",
        subject="{inviter_name} invites you to meterkms",
        paragraphs=(
            "{inviter_name} has invited you to join {organisation} in meterkms, the key "
            "management system for smart-meter and IoT device keys, as {role}.",
            "Accept the invitation to choose your password; you are logged in right after.",
        ),
        button="Accept invitation",
        after=(
            "The invitation is valid until {expires_at}.",
            "If you did not expect this invitation, ignore this email.",
        ),
    ),
    "new_batch": DefaultText(
        name="System Default: New Batch Email (en)",
        subject="New shipment batch {batch_reference} for {recipient_organisation}",
        paragraphs=(
            "{organisation} has created the shipment batch {batch_reference} with "
            "{device_count} devices for {recipient_organisation}.",
            "Open the batch to review its devices and claim them.",
        ),
        button="Open batch",
        after=(),
    ),
    "password_reset": DefaultText(
        name="System Default: Password Reset Email (en)",
        subject="Reset your meterkms password",
        paragraphs=(
            "Someone asked to reset the password of your meterkms account ({recipient_email}).",
            "Choose a new password with the link below.",
        ),
        button="Choose a new password",
        after=(
            "The link is valid until {expires_at}, works once, and stops working as soon as "
            "you log in or change your password.",
            "If you did not ask for this, ignore this email: your password stays as it is.",
        ),
    ),
}

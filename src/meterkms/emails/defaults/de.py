"""German system default texts (vocabulary of the manual)."""

from meterkms.emails.defaults.layout import DefaultText, Language

LANGUAGE = Language(
    code="de",
    greeting="Guten Tag {recipient_name},",
    link_hint="Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren "
    "Browser:",
    footer="Versendet von meterkms im Auftrag von {organisation}.",
)

TEXTS = {
    "confirm_email": DefaultText(
        name="System Standard-E-Mail zur Bestätigung (de)",
        subject="Bitte bestätigen Sie Ihre neue E-Mail-Adresse",
        paragraphs=(
            "Ihr meterkms-Konto bei {organisation} soll künftig diese E-Mail-Adresse "
            "({recipient_email}) verwenden.",
            "Bitte bestätigen Sie die Adresse. Bis dahin melden Sie sich weiter mit Ihrer "
            "bisherigen Adresse an.",
        ),
        button="E-Mail-Adresse bestätigen",
        after=(
            "Der Link ist bis {expires_at} gültig und kann einmal verwendet werden.",
            "Wenn Sie diese Änderung nicht angefordert haben, ignorieren Sie diese E-Mail: "
            "Es ändert sich nichts. Informieren Sie gegebenenfalls Ihren Administrator.",
        ),
    ),
    "invite_user": DefaultText(
        name="System Standard-Einladungs-E-Mail (de)",
        subject="{inviter_name} lädt Sie zu meterkms ein",
        paragraphs=(
            "{inviter_name} hat Sie eingeladen, der Organisation {organisation} in meterkms "
            "beizutreten, dem Key Management System für die Schlüssel von Smart-Metern und "
            "IoT-Geräten. Ihre Rolle: {role}.",
            "Nehmen Sie die Einladung an und wählen Sie Ihr Passwort; danach sind Sie direkt "
            "angemeldet.",
        ),
        button="Einladung annehmen",
        after=(
            "Die Einladung ist zeitlich befristet und bis {expires_at} gültig.",
            "Wenn Sie diese Einladung nicht erwartet haben, ignorieren Sie diese E-Mail.",
        ),
    ),
    "new_batch": DefaultText(
        name="System Standard: E-Mail zu neuem Versandlos (de)",
        subject="Neues Versandlos {batch_reference} für {recipient_organisation}",
        paragraphs=(
            "{organisation} hat das Versandlos {batch_reference} mit {device_count} Geräten "
            "für {recipient_organisation} erstellt.",
            "Öffnen Sie das Versandlos, um die Geräte zu prüfen und zu übernehmen.",
        ),
        button="Versandlos öffnen",
        after=(),
    ),
    "password_reset": DefaultText(
        name="System Standard: E-Mail zum Zurücksetzen des Passworts (de)",
        subject="Passwort für meterkms zurücksetzen",
        paragraphs=(
            "Für Ihr meterkms-Konto ({recipient_email}) wurde das Zurücksetzen des Passworts "
            "angefordert.",
            "Über den folgenden Link wählen Sie ein neues Passwort.",
        ),
        button="Neues Passwort wählen",
        after=(
            "Der Link ist bis {expires_at} gültig, funktioniert nur einmal und verfällt, "
            "sobald Sie sich anmelden oder Ihr Passwort ändern.",
            "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort "
            "bleibt unverändert.",
        ),
    ),
}

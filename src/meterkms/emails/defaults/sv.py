"""Swedish system default texts."""

from meterkms.emails.defaults.layout import DefaultText, Language

LANGUAGE = Language(
    code="sv",
    greeting="Hej {recipient_name}!",
    link_hint="Om knappen inte fungerar kan du kopiera länken till din webbläsare:",
    footer="Skickat av meterkms för {organisation}.",
)

TEXTS = {
    "confirm_email": DefaultText(
        name="Systemstandard: Bekräfta e-post (sv)",
        subject="Bekräfta din nya e-postadress",
        paragraphs=(
            "Ditt meterkms-konto hos {organisation} ska från och med nu använda den här "
            "e-postadressen ({recipient_email}).",
            "Bekräfta adressen. Tills du gör det loggar du in med din tidigare adress.",
        ),
        button="Bekräfta e-postadress",
        after=(
            "Länken gäller till {expires_at} och kan användas en gång.",
            "Om du inte har begärt ändringen kan du bortse från det här meddelandet: "
            "ingenting ändras. Meddela gärna din administratör.",
        ),
    ),
    "invite_user": DefaultText(
        name="Systemstandard: Inbjudan (sv)",
        subject="{inviter_name} bjuder in dig till meterkms",
        paragraphs=(
            "{inviter_name} har bjudit in dig till {organisation} i meterkms, systemet för "
            "hantering av nycklar till smarta mätare och IoT-enheter. Din roll: {role}.",
            "Acceptera inbjudan och välj ditt lösenord; därefter är du inloggad direkt.",
        ),
        button="Acceptera inbjudan",
        after=(
            "Inbjudan gäller till {expires_at}.",
            "Om du inte väntade dig den här inbjudan kan du bortse från meddelandet.",
        ),
    ),
    "new_batch": DefaultText(
        name="Systemstandard: Nytt leveransparti (sv)",
        subject="Nytt leveransparti {batch_reference} för {recipient_organisation}",
        paragraphs=(
            "{organisation} har skapat leveranspartiet {batch_reference} med {device_count} "
            "enheter för {recipient_organisation}.",
            "Öppna partiet för att granska enheterna och göra anspråk på dem.",
        ),
        button="Öppna partiet",
        after=(),
    ),
    "password_reset": DefaultText(
        name="Systemstandard: Återställ lösenord (sv)",
        subject="Återställ ditt lösenord för meterkms",
        paragraphs=(
            "Någon har begärt att lösenordet för ditt meterkms-konto ({recipient_email}) "
            "ska återställas.",
            "Välj ett nytt lösenord via länken nedan.",
        ),
        button="Välj nytt lösenord",
        after=(
            "Länken gäller till {expires_at}, fungerar en gång och slutar gälla så snart du "
            "loggar in eller byter lösenord.",
            "Om du inte har begärt detta kan du bortse från meddelandet: ditt lösenord "
            "förblir oförändrat.",
        ),
    ),
}

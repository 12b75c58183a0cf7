"""Spanish system default texts."""

from meterkms.emails.defaults.layout import DefaultText, Language

LANGUAGE = Language(
    code="es",
    greeting="Hola, {recipient_name}:",
    link_hint="Si el botón no funciona, copie este enlace en su navegador:",
    footer="Enviado por meterkms en nombre de {organisation}.",
)

TEXTS = {
    "confirm_email": DefaultText(
        name="Predeterminado del sistema: Confirmar correo (es)",
        subject="Confirme su nueva dirección de correo electrónico",
        paragraphs=(
            "Su cuenta de meterkms en {organisation} va a utilizar a partir de ahora esta "
            "dirección de correo electrónico ({recipient_email}).",
            "Confirme la dirección, por favor. Hasta entonces seguirá iniciando sesión con su "
            "dirección anterior.",
        ),
        button="Confirmar dirección de correo",
        after=(
            "El enlace es válido hasta el {expires_at} y solo puede usarse una vez.",
            "Si usted no ha solicitado este cambio, ignore este correo: no cambiará nada. "
            "Conviene que informe a su administrador.",
        ),
    ),
    "invite_user": DefaultText(
        name="Predeterminado del sistema: Correo de invitación (es)",
        subject="{inviter_name} le invita a meterkms",
        paragraphs=(
            "{inviter_name} le ha invitado a unirse a {organisation} en meterkms, el sistema "
            "de gestión de claves para contadores inteligentes y dispositivos IoT, con el rol "
            "{role}.",
            "Acepte la invitación para elegir su contraseña; después habrá iniciado sesión "
            "directamente.",
        ),
        button="Aceptar invitación",
        after=(
            "La invitación es válida hasta el {expires_at}.",
            "Si no esperaba esta invitación, ignore este correo.",
        ),
    ),
    "new_batch": DefaultText(
        name="Predeterminado del sistema: Correo de nuevo lote (es)",
        subject="Nuevo lote de envío {batch_reference} para {recipient_organisation}",
        paragraphs=(
            "{organisation} ha creado el lote de envío {batch_reference} con {device_count} "
            "dispositivos para {recipient_organisation}.",
            "Abra el lote para revisar sus dispositivos y reclamarlos.",
        ),
        button="Abrir lote",
        after=(),
    ),
    "password_reset": DefaultText(
        name="Predeterminado del sistema: Restablecer contraseña (es)",
        subject="Restablezca su contraseña de meterkms",
        paragraphs=(
            "Se ha solicitado restablecer la contraseña de su cuenta de meterkms "
            "({recipient_email}).",
            "Elija una nueva contraseña con el siguiente enlace.",
        ),
        button="Elegir nueva contraseña",
        after=(
            "El enlace es válido hasta el {expires_at}, funciona una sola vez y deja de "
            "funcionar en cuanto inicie sesión o cambie su contraseña.",
            "Si no lo ha solicitado, ignore este correo: su contraseña no cambia.",
        ),
    ),
}

"""Photos sent by users: checked by their first bytes (not their names), size-capped, renamed."""

import secrets

from django.utils.translation import gettext as _

from anju.core.errors import InvalidField

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_KINDS = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"))


def clean_photo(upload, field: str = "photo"):
    """A JPEG or PNG of at most 5 MB, renamed at random; InvalidField naming `field` otherwise."""
    if upload is None:
        return None
    if upload.size > PHOTO_MAX_BYTES:
        raise InvalidField(field, _("The photo is larger than 5 MB; take a smaller one."))
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    extension = next((ext for magic, ext in PHOTO_KINDS if head.startswith(magic)), None)
    if extension is None:
        raise InvalidField(field, _("The photo must be a JPEG or PNG image."))
    # The sender's file name is theirs to choose: it never reaches the storage.
    upload.name = secrets.token_hex(12) + extension
    return upload

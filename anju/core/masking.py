"""Masking of personal data for display and export (DESIGN rule 4)."""


def mask_phone(phone: str) -> str:
    """138****1234: keep the first three and last four digits."""
    if not phone or len(phone) < 8:
        return "*" * len(phone or "")
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """370203********1234: keep the region code and the last four characters."""
    if not id_number or len(id_number) < 11:
        return "*" * len(id_number or "")
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_name(name: str) -> str:
    """张*, 欧阳** : keep the first character."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)

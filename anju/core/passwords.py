"""Password rules of 等保 level 3: characters from several classes."""

import secrets
import string

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext


class CharacterClassValidator:
    """Require characters from `min_classes` of: upper case, lower case, digits, symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        classes = [
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c == " " for c in password),
        ]
        if sum(classes) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return ngettext(
            "Your password must mix at least %(n)d kind of character (upper case, lower case, digits, symbols).",
            "Your password must mix at least %(n)d kinds of characters (upper case, lower case, digits, symbols).",
            self.min_classes,
        ) % {"n": self.min_classes}


def generate_password(length: int = 14) -> str:
    """A random password that satisfies every class (used for demo accounts and resets)."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!@#%^*-_=+"]
    chars = [secrets.choice(p) for p in pools]
    alphabet = "".join(pools)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)

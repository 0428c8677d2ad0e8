"""System checks of the disputes app."""

import shutil
import subprocess

from django.core.checks import Warning, register


@register()
def chinese_font(app_configs, **kwargs):
    """Warn when fontconfig knows no Chinese font: the agreement and dossier PDFs would print empty boxes."""
    if chinese_fonts():
        return []
    return [
        Warning(
            "No Chinese font is available to fontconfig: mediation agreements and dossiers cannot be printed.",
            hint="Install the Debian package fonts-noto-cjk (apt-get install fonts-noto-cjk).",
            id="anju.disputes.W001",
        )
    ]


def chinese_fonts() -> list[str]:
    """Families fontconfig offers for Chinese (`fc-list :lang=zh family`); none when fc-list is missing."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in found.splitlines() if line.strip()]

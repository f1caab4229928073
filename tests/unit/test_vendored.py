"""Unit: vendored front-end files are exactly the pinned releases recorded in VENDORED.md."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
HTMX = STATIC / "vendor" / "htmx-2.0.11.min.js"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_htmx_is_the_pinned_2x_release():
    assert hashlib.sha256(HTMX.read_bytes()).hexdigest() == HTMX_SHA256


def test_the_manifest_records_every_vendored_file_and_its_hash():
    manifest = (STATIC / "vendor" / "VENDORED.md").read_text()
    for file in (STATIC / "vendor").glob("*.js"):
        row = next(line for line in manifest.splitlines() if f"`{file.name}`" in line)
        recorded = re.search(r"`([0-9a-f]{64})`", row)
        assert recorded, f"{file.name} has no sha256 in VENDORED.md"
        assert recorded.group(1) == hashlib.sha256(file.read_bytes()).hexdigest()


def test_templates_load_nothing_from_other_hosts():
    templates = Path(__file__).resolve().parents[2] / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r'(src|href)="https?://', text), template
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {template}"
        assert "hx-on" not in text, f"hx-on needs eval; found in {template}"

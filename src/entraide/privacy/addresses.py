"""An email address as the platform takes it: one check for the form and the "my posts" page."""

from __future__ import annotations


def normalised_email(text: str) -> str:
    """``text`` checked as an address (email-validator, no DNS lookup) and normalised the
    way the library does (its domain lower-cased, IDNA); ValueError, in French, otherwise.
    The error never repeats the address."""
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        raise ValueError("Adresse e-mail invalide.") from None

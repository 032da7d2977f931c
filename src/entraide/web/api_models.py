"""The models of the API's OpenAPI document: what bodies and answers look like.

Imported only when the document is built (:func:`entraide.web.api_doc.openapi_document`),
never by a handler at cold start. The rules themselves stay in the rooms
(:mod:`entraide.intake.submission` and the search's parser), which accept more spellings
than the document names (French labels, "besoin"...), never less.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from entraide.intake.fields import COMMUNE_MAX, DESCRIPTION_MAX, EMAIL_MAX, TITLE_MAX
from entraide.kernel.model import Category

CategoryCode = Literal[
    "hebergement", "transport", "nettoyage", "materiel", "repas", "garde", "autre"
]
assert set(get_args(CategoryCode)) == {category.value for category in Category}


class FieldErrorOut(BaseModel):
    field: str = Field(description="le champ en cause, ou « body »")
    message: str = Field(description="en français, à montrer tel quel")


class ErrorList(BaseModel):
    """Every refusal of the JSON API."""

    errors: list[FieldErrorOut]


class PostCreated(BaseModel):
    id: str
    status: Literal["pending"]


class PostRequest(BaseModel):
    """A need or an offer (``POST /offers``), as JSON or as the form's urlencoded fields."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["need", "offer"]
    category: CategoryCode
    title: str = Field(min_length=3, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    postcode: str = Field(pattern=r"^[0-9]{5}$", description="code postal (La Poste)")
    commune: str | None = Field(
        default=None,
        max_length=COMMUNE_MAX,
        description="obligatoire quand le code postal couvre plusieurs communes",
    )
    email: str = Field(max_length=EMAIL_MAX, description="jamais publiée")
    phone: str | None = Field(default=None, max_length=25, description="jamais publié")
    consent: bool


class Coded(BaseModel):
    code: str
    label: str


class Location(BaseModel):
    lat: float
    lon: float


class PublicPost(BaseModel):
    """An approved post as published (no contact detail; position rounded to about 1 km)."""

    id: str
    kind: Coded
    category: Coded
    title: str
    description: str
    commune: str
    postcode: str
    departement: str
    created_at: str
    location: Location
    url: str
    distance_km: float | None = None


class SearchResults(BaseModel):
    query: dict[str, Any]
    items: list[PublicPost]
    next_cursor: str | None
    asleep: bool
    message: str | None = None


#: Every model the document names, by its name.
MODELS: tuple[type[BaseModel], ...] = (ErrorList, PostCreated, PostRequest, SearchResults)

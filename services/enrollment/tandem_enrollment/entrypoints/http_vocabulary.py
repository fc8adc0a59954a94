"""The closed lists an enrollment is checked against, so that a client can offer them instead of
guessing: skills, time zones, countries. A program's own languages and objectives are in
`GET /programs/{id}` (`languages`, `objectives[].code`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel
from tandem_kernel.access import SIGNED_IN, allow
from tandem_kernel.identity import Principal

from tandem_enrollment.domain import SKILLS, SkillArea
from tandem_enrollment.domain.values import COUNTRIES, TIME_ZONES

__all__ = ["vocabulary_router"]

vocabulary_router = APIRouter(prefix="/vocabulary", tags=["vocabulary"])

SignedIn = Annotated[Principal, allow(SIGNED_IN)]


class SkillPublic(BaseModel):
    """A skill participants may offer or want (`skills_offered[].skill`, `skills_wanted[].skill`)."""

    code: str
    title: str
    area: SkillArea


class CountryPublic(BaseModel):
    """An ISO 3166-1 country (`country`)."""

    code: str
    name: str


@vocabulary_router.get("/skills", summary="The skills vocabulary: every code an enrollment may rate")
async def skills(_: SignedIn) -> list[SkillPublic]:
    """Every skill code with its title and area, for `skills_offered` and `skills_wanted`."""
    return [SkillPublic(code=skill.code, title=skill.title, area=skill.area) for skill in SKILLS.values()]


@vocabulary_router.get("/time-zones", summary="The IANA time zones an enrollment may give (`time_zone`)")
async def time_zones(_: SignedIn) -> list[str]:
    """Every IANA time zone name accepted as `time_zone` (availability is in the participant's own zone)."""
    return list(TIME_ZONES)


@vocabulary_router.get("/countries", summary="The ISO 3166-1 countries an enrollment may give (`country`)")
async def countries(_: SignedIn) -> list[CountryPublic]:
    """Every ISO 3166-1 alpha-2 code accepted as `country`, with the country's name."""
    return [CountryPublic(code=code, name=name) for code, name in sorted(COUNTRIES.items())]

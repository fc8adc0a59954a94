"""The shared skills vocabulary, and a participant's rating of one skill.

Participants say which skills they offer and which they want, each with a level from 1 (curious) to
5 (can teach it). Codes come from one vocabulary so that pairing can match "offered" against
"wanted" without guessing at spellings.

>>> SKILLS["prompt_engineering"].area
<SkillArea.AI: 'ai'>
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from annotated_types import Len
from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema
from tandem_kernel.events import unless_trusted

from tandem_enrollment.domain.values import ValueObject, duplicates

__all__ = ["SKILLS", "KnownSkillRatings", "Skill", "SkillArea", "SkillCode", "SkillRating", "SkillRatings"]


class SkillArea(StrEnum):
    """The family a skill belongs to; used to group skills in forms and reports."""

    DIGITAL_TOOLS = "digital_tools"
    AI = "ai"
    SOCIAL_NETWORKS = "social_networks"
    NEW_WORK_METHODS = "new_work_methods"
    COMMUNICATION = "communication"
    INCLUSION = "inclusion"
    LEADERSHIP = "leadership"
    INDUSTRY_KNOWLEDGE = "industry_knowledge"


@dataclass(frozen=True, slots=True)
class Skill:
    """One entry of the vocabulary."""

    code: str
    title: str
    area: SkillArea


_VOCABULARY: dict[SkillArea, tuple[tuple[str, str], ...]] = {
    SkillArea.DIGITAL_TOOLS: (
        ("excel", "Spreadsheets (Excel, Sheets)"),
        ("powerpoint", "Presentations (PowerPoint, Slides)"),
        ("teams", "Microsoft Teams"),
        ("slack", "Slack"),
        ("sharepoint", "SharePoint and intranets"),
        ("notion", "Notion"),
        ("collaborative_docs", "Co-editing documents online"),
        ("video_calls", "Video calls and webinars"),
        ("mobile_productivity", "Working from a phone or tablet"),
        ("cybersecurity_hygiene", "Passwords, phishing and safe habits"),
        ("python", "Python scripting"),
        ("no_code_automation", "No-code automation (Power Automate, Zapier)"),
        ("data_visualisation", "Dashboards and data visualisation"),
    ),
    SkillArea.AI: (
        ("generative_ai", "Using generative AI assistants"),
        ("prompt_engineering", "Writing effective prompts"),
        ("ai_ethics", "Responsible and ethical AI"),
        ("ai_image_tools", "AI image and video tools"),
        ("ai_for_writing", "AI for writing and summarising"),
        ("ai_for_data", "AI for data analysis"),
        ("machine_learning_basics", "Machine learning fundamentals"),
        ("copilots", "Office copilots"),
    ),
    SkillArea.SOCIAL_NETWORKS: (
        ("linkedin", "LinkedIn presence"),
        ("personal_branding", "Personal branding"),
        ("social_selling", "Social selling"),
        ("content_creation", "Short posts, videos and podcasts"),
        ("enterprise_social_network", "Enterprise social networks (Viva Engage, Workplace)"),
        ("online_reputation", "Online reputation and privacy"),
        ("community_management", "Community management"),
    ),
    SkillArea.NEW_WORK_METHODS: (
        ("agile", "Agile ways of working"),
        ("scrum", "Scrum"),
        ("kanban", "Kanban"),
        ("design_thinking", "Design thinking"),
        ("remote_work", "Remote and hybrid work"),
        ("asynchronous_work", "Asynchronous collaboration"),
        ("okrs", "Objectives and key results"),
        ("lean", "Lean methods"),
        ("time_management", "Time and attention management"),
    ),
    SkillArea.COMMUNICATION: (
        ("public_speaking", "Public speaking"),
        ("storytelling", "Storytelling"),
        ("feedback", "Giving and receiving feedback"),
        ("written_communication", "Clear writing"),
        ("negotiation", "Negotiation"),
        ("active_listening", "Active listening"),
        ("intercultural_communication", "Working across cultures"),
    ),
    SkillArea.INCLUSION: (
        ("inclusive_leadership", "Inclusive leadership"),
        ("unconscious_bias", "Recognising unconscious bias"),
        ("accessibility", "Digital accessibility"),
        ("intergenerational_collaboration", "Collaboration across generations"),
        ("wellbeing", "Wellbeing at work"),
    ),
    SkillArea.LEADERSHIP: (
        ("coaching", "Coaching"),
        ("mentoring", "Mentoring"),
        ("decision_making", "Decision making"),
        ("change_management", "Leading change"),
        ("strategic_thinking", "Strategic thinking"),
        ("stakeholder_management", "Stakeholder management"),
        ("conflict_resolution", "Resolving conflict"),
        ("team_building", "Building teams"),
    ),
    SkillArea.INDUSTRY_KNOWLEDGE: (
        ("company_culture", "Company history and culture"),
        ("internal_networks", "Finding your way in the organisation"),
        ("customer_insight", "Knowing the customers"),
        ("finance_basics", "Business and finance basics"),
        ("regulation_compliance", "Regulation and compliance"),
        ("sustainability", "Sustainability and CSR"),
        ("project_management", "Project management"),
        ("career_development", "Career development"),
    ),
}

SKILLS: Mapping[str, Skill] = MappingProxyType(
    {code: Skill(code, title, area) for area, entries in _VOCABULARY.items() for code, title in entries}
)
"""The default vocabulary, by code."""

SkillCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_]*$"
    ),
]


class SkillRating(ValueObject):
    """A skill and how well the participant masters it (offered) or wants to (wanted), 1 to 5."""

    skill: SkillCode
    level: int = Field(ge=1, le=5)


def _one_rating_per_skill(ratings: tuple[SkillRating, ...]) -> tuple[SkillRating, ...]:
    repeated = duplicates(rating.skill for rating in ratings)
    if repeated:
        raise ValueError(f"each skill may be rated once, repeated: {', '.join(repeated)}")
    return ratings


def _known_skills(ratings: tuple[SkillRating, ...]) -> tuple[SkillRating, ...]:
    unknown = sorted(rating.skill for rating in ratings if rating.skill not in SKILLS)
    if unknown:
        raise ValueError(f"not in the skills vocabulary: {', '.join(unknown)}")
    return ratings


SkillRatings = Annotated[tuple[SkillRating, ...], Len(0, 30), AfterValidator(unless_trusted(_one_rating_per_skill))]
"""Ratings as stored in events and state: the vocabulary may change, old events must still read."""

_KNOWN_RATINGS_SCHEMA = {
    "type": "array",
    "maxItems": 30,
    "items": {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "enum": sorted(SKILLS), "description": "A code of `GET /vocabulary/skills`."},
            "level": {"type": "integer", "minimum": 1, "maximum": 5, "description": "1 (curious) to 5 (can teach it)."},
        },
        "required": ["skill", "level"],
        "additionalProperties": False,
    },
}

KnownSkillRatings = Annotated[SkillRatings, AfterValidator(_known_skills), WithJsonSchema(_KNOWN_RATINGS_SCHEMA)]
"""Ratings as commands accept them: every code from today's vocabulary (listed in the schema)."""

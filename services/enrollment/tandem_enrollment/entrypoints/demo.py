"""Demo data for `make run`: an open program with forty juniors and seniors, loaded through the
HTTP API as any client would. Idempotency keys make a second run find the first run's data.

`sample_people` also feeds the tests and the import benchmark: realistic, deterministic profiles.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the demo runs in development only: no import of its tools at run time
    from tandem_kernel.devrun import DemoSignIn

__all__ = ["DEMO_PROGRAM", "as_csv", "load_demo", "sample_people"]

DEMO_PROGRAM: dict[str, Any] = {
    "name": "Digital tandems 2026",
    "description": "Juniors coach seniors on AI assistants, collaboration tools and LinkedIn; "
    "seniors open their networks and share how the company really works.",
    "objectives": [
        {"code": "ai", "title": "Use AI assistants day to day", "theme": "ai"},
        {"code": "tools", "title": "Get fluent with collaboration tools", "theme": "digital_tools"},
        {
            "code": "visibility",
            "title": "Build a professional presence online",
            "theme": "professional_social_networks",
        },
        {"code": "ways-of-working", "title": "Try agile and asynchronous work", "theme": "new_work_methods"},
        {"code": "career", "title": "Understand careers and networks inside the company", "theme": "communication"},
    ],
    "start_date": date(2026, 3, 2).isoformat(),
    "end_date": date(2026, 12, 18).isoformat(),
    "session_cadence_days": 14,
    "session_minutes": 45,
    "rotation_months": 3,
    "capacity": 36,
    "auto_approve": True,
    "languages": ["en", "fr"],
    "eligibility": {"junior": {"max_years_in_company": 6, "max_job_level": 4}, "senior": {"min_job_level": 5}},
}

_FIRST_NAMES = (
    "Ada Amina Bruno Camille Chen Chloé Diego Elena Farid Grace Hugo Inès Jonas Karim Léa Lucas Maya Mehdi Nadia "
    "Noah Olga Pablo Priya Quentin Rosa Sami Sofia Theo Ulla Victor Wei Yasmine Zoé Aurélien Beatriz Kenji Fatou"
)
_LAST_NAMES = (
    "Martin Bernard Dubois Nguyen Rossi García Müller Haddad Kowalski Okafor Lefebvre Moreau Fontaine Sato Silva "
    "Petit Laurent Costa Jansen Diallo Morel Girard Andersen Leroy Bakker"
)
_FIRST, _LAST = _FIRST_NAMES.split(), _LAST_NAMES.split()
_DEPARTMENTS = ("Finance", "Marketing", "Operations", "IT", "Human Resources", "Sales", "Legal", "Research")
_SITES = (
    ("Paris", "FR", "Europe/Paris", ["fr", "en"]),
    ("Lyon", "FR", "Europe/Paris", ["fr", "en"]),
    ("London", "GB", "Europe/London", ["en"]),
    ("Madrid", "ES", "Europe/Madrid", ["es", "en"]),
    ("Montréal", "CA", "America/Toronto", ["fr", "en"]),
)
_JUNIOR_SKILLS = (
    "generative_ai",
    "prompt_engineering",
    "copilots",
    "linkedin",
    "content_creation",
    "notion",
    "collaborative_docs",
    "no_code_automation",
    "data_visualisation",
    "asynchronous_work",
    "python",
)
_SENIOR_SKILLS = (
    "negotiation",
    "stakeholder_management",
    "strategic_thinking",
    "company_culture",
    "internal_networks",
    "finance_basics",
    "regulation_compliance",
    "public_speaking",
    "career_development",
    "coaching",
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# A few common start hours, so that most people share a weekday and overlap for a session.
_START_HOURS = (9, 10, 14)
_WINDOWS_PER_PERSON, _WINDOW_HOURS = 3, 2
_GOALS = (
    "Stop being the last one in my team to try new tools.",
    "Understand how decisions are really made here.",
    "Get comfortable presenting to the executive committee.",
    "Use AI to prepare my weekly reporting in half the time.",
    "Grow my network outside my department.",
    None,
)


def _ratings(rng: random.Random, skills: tuple[str, ...], count: int, levels: tuple[int, int]) -> list[dict[str, Any]]:
    return [{"skill": skill, "level": rng.randint(*levels)} for skill in rng.sample(skills, count)]


def sample_people(count: int, *, seed: int = 2026, first_employee: int = 1001) -> list[dict[str, Any]]:
    """`count` enrollment requests (bodies of `POST /programs/{id}/enrollments`), half juniors, half
    seniors, eligible for `DEMO_PROGRAM`. The same arguments give the same people."""
    rng = random.Random(seed)
    people = []
    for n in range(count):
        junior = n % 2 == 0
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        site, country, time_zone, languages = rng.choice(_SITES)
        offered, wanted = (_JUNIOR_SKILLS, _SENIOR_SKILLS) if junior else (_SENIOR_SKILLS, _JUNIOR_SKILLS)
        availability = []
        for day in sorted(rng.sample(range(len(_WEEKDAYS)), _WINDOWS_PER_PERSON)):
            hour = rng.choice(_START_HOURS)
            availability.append(
                {"weekday": _WEEKDAYS[day], "start": f"{hour:02d}:00", "end": f"{hour + _WINDOW_HOURS:02d}:00"}
            )
        people.append(
            {
                "employee_id": f"E{first_employee + n:05d}",
                "role": "junior" if junior else "senior",
                "consent": True,
                "display_name": f"{first} {last}",
                "email": f"{first}.{last}.{first_employee + n}@example.com".lower().replace(" ", ""),
                "personal_goals": rng.choice(_GOALS),
                "department": rng.choice(_DEPARTMENTS),
                "site": site,
                "country": country,
                "time_zone": time_zone,
                "job_level": rng.randint(1, 4) if junior else rng.randint(5, 9),
                "years_in_company": round(rng.uniform(0.3, 5.5), 1) if junior else round(rng.uniform(8, 32), 1),
                "languages": languages,
                "skills_offered": _ratings(rng, offered, 3, (3, 5)),
                "skills_wanted": _ratings(rng, wanted, 2, (1, 3)),
                "objectives": rng.sample(["ai", "tools", "visibility", "ways-of-working", "career"], 2),
                "availability": availability,
                "meeting_preference": rng.choice(["remote", "in_person", "either"]),
            }
        )
    return people


def _cell(value: Any) -> str:
    # The import CSV's list syntax (see domain.bulk_import): items split by ";".
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    if isinstance(value, dict) and "skill" in value:
        return f"{value['skill']}:{value['level']}"
    if isinstance(value, dict):
        return f"{value['weekday']} {value['start']}-{value['end']}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def as_csv(people: list[dict[str, Any]]) -> str:
    """`people` (as `sample_people` makes them) as an import CSV, with a header row."""
    columns = list(dict.fromkeys(name for body in people for name in body))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(body.get(name)) for name in columns] for body in people)
    return out.getvalue()


async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
    """Create and open the demo program and enroll forty people, through the API at
    `urls["enrollment"]`, as HR. Returns people to sign in as: a junior and a senior."""
    people = sample_people(40)
    headers = {"Authorization": f"Bearer {sign_in.hr}"}
    async with httpx.AsyncClient(base_url=urls["enrollment"], timeout=30, headers=headers) as http:
        created = await http.post("/programs", json=DEMO_PROGRAM, headers={"Idempotency-Key": "demo:program"})
        created.raise_for_status()
        program_id = created.json()["program_id"]
        opened = await http.post(f"/programs/{program_id}/open", headers={"Idempotency-Key": f"demo:open:{program_id}"})
        opened.raise_for_status()
        statuses: dict[str, int] = {}
        for person in people:
            key = f"demo:enroll:{program_id}:{person['employee_id']}"
            enrolled = await http.post(
                f"/programs/{program_id}/enrollments", json=person, headers={"Idempotency-Key": key}
            )
            enrolled.raise_for_status()
            status = enrolled.json()["status"]
            statuses[status] = statuses.get(status, 0) + 1
        summary = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        print(f"  program {program_id}: 40 enrollments ({summary})")
    junior = next(person for person in people if person["role"] == "junior")
    senior = next(person for person in people if person["role"] == "senior")
    return {"junior": str(junior["employee_id"]), "senior": str(senior["employee_id"])}
